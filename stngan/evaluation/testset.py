"""The evaluation set: faces of a store split, each with a fixed, seeded mask, served in batches.

Item order: by (video, frame, store index), so video frames come in time order and still images in store
order. Item p's mask jitter is drawn from ``default_rng([seed, store_index])``: the same face always gets
the same mask whatever the batch size, the subset or the method (paper 4.2: radii jittered by up to 3 px;
no flip). Keys name items for external outputs: the source path without extension, plus ``/FFFFFF`` (frame
number) for video frames.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from stngan.data.prepare.folder import prepare_folder
from stngan.data.sample import frame_sample
from stngan.data.store import FaceStore, StoreError
from stngan.errors import InputError
from stngan.evaluation.batch import EvalBatch, MethodInput


class EvalSet:
    """``len(set)`` faces of ``store``'s ``split`` (every n-th frame, first ``limit``), named ``name``."""

    def __init__(self, store: str | Path, name: str | None = None, split: str = "test", every: int = 1,
                 limit: int | None = None, mask_jitter: float = 3.0, seed: int = 0) -> None:
        if mask_jitter < 0 or every < 1 or (limit is not None and limit < 1):
            raise InputError(f"need mask_jitter >= 0, every >= 1, limit >= 1; got {mask_jitter}, {every}, {limit}")
        self.store = FaceStore(store)
        self.path = Path(store)
        self.name = name or self.path.name
        self.split, self.every, self.mask_jitter, self.seed = split, every, float(mask_jitter), seed
        idx = self.store.split_indices(split, every)
        if len(idx) == 0:
            raise StoreError(f"{store} has no faces in split {split!r} (faces per split: {self.store.counts})")
        video, frame = self.store.column("video")[idx], self.store.column("frame")[idx]
        idx = idx[np.lexsort((idx, frame, video))]
        self.indices = idx[:limit] if limit else idx
        self.identity = self.store.column("identity")[self.indices].astype(np.int64)
        self.video = self.store.column("video")[self.indices].astype(np.int64)
        self.frame = self.store.column("frame")[self.indices].astype(np.int64)
        self.transforms = self.store.column("transforms")[self.indices]
        self.keys = self._keys()

    @property
    def kind(self) -> str:
        """How the store was prepared: celeba, 300vw, faceforensics, folder, videos, ..."""
        return str(self.store.manifest.get("kind", "unknown"))

    @property
    def pad(self) -> float:
        """Face-box padding the crops were made with (paper: 0.2)."""
        return float(self.store.manifest.get("config", {}).get("pad", 0.2))

    @property
    def crop_size(self) -> int:
        return int(self.store.crop(int(self.indices[0])).shape[0])

    def __len__(self) -> int:
        return len(self.indices)

    def _keys(self) -> list[str]:
        keys, seen = [], set()
        for i, v, f in zip(self.indices, self.video, self.frame):
            stem = str(Path(self.store.meta(int(i))["source"]).with_suffix("").as_posix())
            key = f"{stem}/{f:06d}" if v >= 0 else stem
            if key in seen:
                key = f"{key}#{i}"
            seen.add(key)
            keys.append(key)
        return keys

    def fingerprint(self) -> str:
        """Hash of what fixes the item order and the masks (store content, split, every, jitter, seed), not
        of ``limit``: a limited set is a prefix of the full one, so their cached chunks are shared."""
        spec = {"store": self.store.manifest.get("config_hash"), "count": len(self.store), "split": self.split,
                "every": self.every, "jitter": self.mask_jitter, "seed": self.seed}
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]

    def batch(self, positions: np.ndarray | range) -> EvalBatch:
        """The items at ``positions`` (positions in this set, not store indices)."""
        pos = np.asarray(positions, dtype=np.int64)
        samples = []
        for p in pos:
            i = int(self.indices[p])
            rng = np.random.default_rng([self.seed, i])
            samples.append(frame_sample(np.asarray(self.store.crop(i)), self.store.landmarks(i), rng,
                                        mask_jitter=self.mask_jitter, hflip=0.0, with_cond=True))
        stack = {k: torch.from_numpy(np.stack([s[k] for s in samples])) for k in samples[0]}
        landmarks = np.stack([self.store.landmarks(int(self.indices[p])) for p in pos])
        tracks = np.where(self.video[pos] >= 0, self.video[pos], -1 - pos)  # stills: a track each
        inputs = MethodInput([self.keys[p] for p in pos], stack["x_hat"], stack["mask"], stack["cond"], landmarks,
                             tracks, self.transforms[pos])
        return EvalBatch(inputs, stack["x"], pos, self.identity[pos], self.video[pos], self.frame[pos])


def open_set(path: str | Path, work_dir: Path, name: str | None = None, **kwargs) -> EvalSet:
    """An EvalSet from a store, or from a plain image folder prepared once into ``work_dir/stores/NAME``
    (every image in the test split)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"evaluation data {p} does not exist (a prepared store or a folder of face images)")
    if FaceStore.is_store(p):
        return EvalSet(p, name, **kwargs)
    store = work_dir / "stores" / (name or p.name)
    if not FaceStore.is_store(store) or not FaceStore(store, allow_partial=True).manifest["complete"]:
        prepare_folder(p, store, split="test", progress=False)
    return EvalSet(store, name or p.name, **{**kwargs, "split": "test"})
