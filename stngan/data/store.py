"""Read a prepared face-crop store (layout in :mod:`stngan.data.layout`).

Crops and landmarks stay memory-mapped and are opened lazily, per process: a pickled FaceStore (e.g. sent
to DataLoader workers) carries only the small metadata arrays and reopens its maps on first access.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from stngan.data import layout
from stngan.data.atomic import read_json
from stngan.data.windows import consecutive_windows
from stngan.errors import UserError


class StoreError(UserError, ValueError):
    """A path that is not a usable store; the message is one line and says what to do."""


class FaceStore:
    """Random access to the faces of a store; items are numbered 0..len-1 in shard order.

    Only shards listed in ``manifest.json`` are read. A store whose preparation has not finished (shards
    missing) raises :class:`StoreError` unless ``allow_partial=True``.
    """

    def __init__(self, path: str | Path, allow_partial: bool = False) -> None:
        self.path = Path(path)
        if not FaceStore.is_store(self.path):
            raise StoreError(f"{self.path} is not a prepared face store (no {layout.MANIFEST}); "
                             "create one with `stngan prepare`")
        self.manifest: dict[str, Any] = read_json(self.path / layout.MANIFEST)
        version = self.manifest.get("format_version")
        if version != layout.FORMAT_VERSION:
            raise StoreError(f"{self.path}: store format {version}, this stngan reads {layout.FORMAT_VERSION}; "
                             "prepare it again")
        if not self.manifest["complete"] and not allow_partial:
            done, total = len(self.manifest["shards"]), self.manifest["shards_total"]
            raise StoreError(f"{self.path}: preparation unfinished ({done}/{total} shards); rerun the same "
                             "`stngan prepare` command (it resumes) or pass allow_partial=True")
        self.shard_names = [s["name"] for s in self.manifest["shards"]]
        counts = np.array([s["count"] for s in self.manifest["shards"]], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        self._meta = {name: self._concat(name) for name in layout.METADATA_ARRAYS}
        self._maps: list[dict[str, np.ndarray]] | None = None
        self._tables: dict[str, list[str]] | None = None

    @staticmethod
    def is_store(path: str | Path) -> bool:
        """True when ``path`` is a directory with a store manifest."""
        return (Path(path) / layout.MANIFEST).is_file()

    def _concat(self, name: str) -> np.ndarray:
        dtype, shape = layout.ARRAYS[name]
        parts = [np.load(self.path / s / f"{name}.npy") for s in self.shard_names]
        return np.concatenate(parts) if parts else np.zeros((0, *shape), dtype=dtype)

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_maps": None}

    # --- per-item access -------------------------------------------------------------------------------
    def _locate(self, i: int) -> tuple[dict[str, np.ndarray], int]:
        if not 0 <= i < len(self):
            raise IndexError(f"item {i} out of range for a store of {len(self)} faces")
        if self._maps is None:
            self._maps = [{name: np.load(self.path / s / f"{name}.npy", mmap_mode="r")
                           for name in ("crops", "landmarks")} for s in self.shard_names]
        s = int(np.searchsorted(self.offsets, i, side="right")) - 1
        return self._maps[s], i - int(self.offsets[s])

    def crop(self, i: int) -> np.ndarray:
        """(128, 128, 3) uint8 face crop of item ``i`` (read-only view of the map)."""
        arrays, j = self._locate(i)
        return arrays["crops"][j]

    def landmarks(self, i: int) -> np.ndarray:
        """(68, 2) float32 landmarks of item ``i`` in crop coordinates."""
        arrays, j = self._locate(i)
        return np.array(arrays["landmarks"][j])

    def column(self, name: str) -> np.ndarray:
        """A per-item metadata array over the whole store, e.g. ``column("video")``: (N,) or (N, 3)."""
        if name not in self._meta:
            raise KeyError(f"unknown store column {name!r}; known: {', '.join(self._meta)}")
        return self._meta[name]

    def _table(self, name: str) -> list[str]:
        if self._tables is None:
            self._tables = {}
            for table in (layout.SOURCES, layout.IDENTITIES):
                p = self.path / table
                self._tables[table] = p.read_text(encoding="utf-8").splitlines() if p.is_file() else []
        return self._tables[name]

    def meta(self, i: int) -> dict[str, Any]:
        """Where item ``i`` came from: source path, frame, identity, video, split, crop transform."""
        self._locate(i)
        m = {name: int(self._meta[name][i]) for name in ("frame", "identity", "video")}
        identities = self._table(layout.IDENTITIES)
        cx, cy, side = (float(v) for v in self._meta["transforms"][i])
        return {
            **m,
            "index": i,
            "source": self._table(layout.SOURCES)[int(self._meta["source"][i])],
            "identity_name": identities[m["identity"]] if identities and m["identity"] >= 0 else None,
            "split": layout.SPLITS[int(self._meta["split"][i])],
            "annotated": bool(self._meta["annotated"][i]),
            "transform": {"cx": cx, "cy": cy, "side": side, "size": layout.CROP_SIZE},
        }

    # --- selections --------------------------------------------------------------------------------------
    def split_indices(self, split: str, every: int = 1) -> np.ndarray:
        """Sorted int64 indices of the items in ``split``; ``every=n`` keeps frames whose index is a
        multiple of n (the paper's 300-VW image test set samples every 100th frame)."""
        keep = self._meta["split"] == layout.split_code(split)
        if every > 1:
            keep &= self._meta["frame"] % every == 0
        return np.flatnonzero(keep).astype(np.int64)

    def windows(self, split: str, T: int, max_jump: float | None = 0.5) -> np.ndarray:
        """(K, T) int64 indices of T consecutive frames of one video (rule in :mod:`stngan.data.windows`)."""
        return consecutive_windows(self._meta["video"], self._meta["frame"], T,
                                   keep=self._meta["split"] == layout.split_code(split),
                                   transforms=self._meta["transforms"], max_jump=max_jump)

    @property
    def counts(self) -> dict[str, int]:
        """Faces per split."""
        return dict(self.manifest["counts"])

    @property
    def report(self) -> dict[str, Any]:
        return self.manifest["report"]
