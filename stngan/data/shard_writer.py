"""Write one shard of a store atomically: into a temporary directory, fsync, then rename into place."""
from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stngan.data import layout
from stngan.data.atomic import fsync_dir, write_json_atomic
from stngan.data.npy_stream import NpyAppender


@dataclass(frozen=True)
class FaceRecord:
    """One stored face: the crop, its landmarks and where it came from (see :mod:`stngan.data.layout`)."""

    crop: np.ndarray  # (128, 128, 3) uint8
    landmarks: np.ndarray  # (68, 2) float32, crop coordinates
    transform: tuple[float, float, float]  # (cx, cy, side) in source-frame pixels
    source: int
    frame: int
    identity: int
    video: int
    split: int
    annotated: bool

    def values(self) -> dict[str, Any]:
        return {"crops": self.crop, "landmarks": self.landmarks, "transforms": self.transform,
                "source": self.source, "frame": self.frame, "identity": self.identity, "video": self.video,
                "split": self.split, "annotated": int(self.annotated)}


class ShardWriter:
    """Collects records for shard ``k`` of the store at ``root``; nothing is visible until :meth:`commit`.

    Use as a context manager: leaving the block by an exception removes the temporary directory.
    """

    def __init__(self, root: Path, k: int) -> None:
        self.root = Path(root)
        self.k = k
        self.tmp = self.root / f"{layout.tmp_shard_prefix(k)}{uuid.uuid4().hex[:12]}"
        self.tmp.mkdir()
        self._arrays = {name: NpyAppender(self.tmp / f"{name}.npy", dtype, shape)
                        for name, (dtype, shape) in layout.ARRAYS.items()}
        self.split_counts = [0] * len(layout.SPLITS)

    @property
    def count(self) -> int:
        return self._arrays["crops"].count

    def add(self, record: FaceRecord) -> None:
        for name, value in record.values().items():
            self._arrays[name].append(value)
        self.split_counts[record.split] += 1

    def commit(self, meta: dict[str, Any]) -> Path:
        """Finish every array, write ``meta.json`` and rename the shard into place; returns its path.

        If another process finished the same shard meanwhile, this copy is discarded (both are identical).
        """
        for a in self._arrays.values():
            a.close()
        write_json_atomic(self.tmp / layout.SHARD_META, {
            **meta, "shard": self.k, "count": self.count,
            "split_counts": dict(zip(layout.SPLITS, self.split_counts)),
        })
        fsync_dir(self.tmp)
        final = self.root / layout.shard_name(self.k)
        try:
            self.tmp.rename(final)
        except OSError:
            if not (final / layout.SHARD_META).is_file():
                raise
            shutil.rmtree(self.tmp, ignore_errors=True)
        fsync_dir(self.root)
        return final

    def abort(self) -> None:
        for a in self._arrays.values():
            a.discard()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
