"""Training batches: a deterministic, resumable, rank-sliced stream of store items.

The batch of step s is a pure function of (seed, s): the item stream is the concatenation of per-epoch
permutations (epoch e shuffled by a generator seeded with (seed, e)) and step s takes items
[s·B, (s+1)·B). Each rank takes its contiguous slice of that global batch. Items carry their epoch
(``epoch·n + index``) so the per-item random masks/flips are functions of (seed, epoch, index) too.
Resuming at step s therefore sees exactly the batches an uninterrupted run would have seen.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from stngan.config import ExperimentConfig
from stngan.data.datasets import FrameDataset, MotionWindowDataset, WindowDataset
from stngan.data.store import FaceStore, StoreError
from stngan.donors.exemplar import RandomExemplar
from stngan.errors import InputError
from stngan.training.distributed import DistInfo


class EpochIndexed(Dataset):
    """Wraps a dataset with ``set_epoch``: item k is item k mod n of epoch k div n."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.n = len(dataset)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, k: int) -> dict:
        epoch, index = divmod(k, self.n)
        self.dataset.set_epoch(epoch)  # type: ignore[attr-defined]
        return self.dataset[index]


class StepBatchSampler(Sampler[list[int]]):
    """Yields, for steps start, start+1, ..., this rank's slice of the global batch (as epoch-coded ids)."""

    def __init__(self, n: int, global_batch: int, seed: int, start_step: int, dist_info: DistInfo) -> None:
        if global_batch % dist_info.world:
            raise InputError(f"train.batch_size {global_batch} must be divisible by the {dist_info.world} processes")
        self.n, self.global_batch, self.seed, self.start_step = n, global_batch, seed, start_step
        self.local = global_batch // dist_info.world
        self.offset = dist_info.rank * self.local

    @lru_cache(maxsize=4)
    def _perm(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.n, generator=g)

    def batch_for_step(self, step: int) -> list[int]:
        first = step * self.global_batch + self.offset
        out = []
        for pos in range(first, first + self.local):
            epoch, i = divmod(pos, self.n)
            out.append(epoch * self.n + int(self._perm(epoch)[i]))
        return out

    def __iter__(self) -> Iterator[list[int]]:
        step = self.start_step
        while True:
            yield self.batch_for_step(step)
            step += 1

    def __len__(self) -> int:  # infinite stream; DataLoader only needs this for len(loader)
        return 2**62


def resolve_store(cfg: ExperimentConfig, run_dir: Path) -> Path:
    """The store to train on: `data.source` itself, or a store prepared once from a plain image folder."""
    source = Path(cfg.data.source)
    if not source.exists():
        raise StoreError(f"data.source {source} does not exist (a prepared store or a folder of face images)")
    if FaceStore.is_store(source):
        return source
    # preparing needs dlib and PyAV, which a training-only machine (the lent GPU) lacks: imported only here
    from stngan.data.prepare.folder import prepare_folder

    store = run_dir / "store"
    prepare_folder(source, store, workers=max(1, cfg.data.workers), detector=cfg.data.detector)
    return store


def build_dataset(cfg: ExperimentConfig, store: Path, split: str | None = None, augment: bool = True) -> Dataset:
    """Faces (SI, PartialConv) or T-frame windows (STN; of videos, or with `data.motion` of still faces) of
    one split, augmented as `data.*` says."""
    split = split or cfg.data.split
    d = cfg.data
    jitter, hflip, tone = (d.mask_jitter, d.hflip, d.tone) if augment else (0.0, 0.0, 0.0)
    exemplar = RandomExemplar(d.donor_bank) if cfg.model.exemplar else None
    common = dict(split=split, mask_jitter=jitter, hflip=hflip, landmarks=cfg.model.landmarks, seed=cfg.train.seed,
                  tone=tone, tone_mode=d.tone_mode, exemplar=exemplar)
    if cfg.model.kind == "stn" and d.motion.enabled:  # the motion is the data, not an augmentation: kept held-out
        m = d.motion
        return MotionWindowDataset(store, T=cfg.model.T, shift=m.shift, zoom=m.zoom, rotate=m.rotate,
                                   brightness=m.brightness, **common)
    if cfg.model.kind == "stn":
        return WindowDataset(store, T=cfg.model.T, **common)
    faces = dict(rotate=d.rotate, scale=d.scale, occluders=d.occluders) if augment else {}
    return FrameDataset(store, **common, **faces)


@dataclass(frozen=True)
class TrainingData:
    """What a run trains on (``train``, augmented) and the held-out items that sample grids and ``best/``
    use (``held_out``, not augmented, from split ``held_out_split``)."""

    train: Dataset
    held_out: Dataset
    held_out_split: str


def training_data(cfg: ExperimentConfig, store: Path) -> TrainingData:
    """The config's training split and its held-out split: 'val', else 'test', else (no held-out faces in the
    store) the training split itself, without augmentation."""
    for split in ("val", "test"):
        try:
            held_out = build_dataset(cfg, store, split=split, augment=False)
        except StoreError:  # no faces (or, for STN, no T-frame window) in this split
            continue
        return TrainingData(build_dataset(cfg, store), held_out, split)
    split = cfg.data.split
    return TrainingData(build_dataset(cfg, store), build_dataset(cfg, store, split=split, augment=False), split)


def batch_stream(cfg: ExperimentConfig, dataset: Dataset, start_step: int, dist_info: DistInfo,
                 pin_memory: bool) -> Iterator[dict]:
    wrapped = EpochIndexed(dataset)
    if len(wrapped) == 0:
        raise InputError(f"no training items in split {cfg.data.split!r} of {cfg.data.source}")
    sampler = StepBatchSampler(len(wrapped), cfg.train.batch_size, cfg.train.seed, start_step, dist_info)
    loader = DataLoader(wrapped, batch_sampler=sampler, num_workers=cfg.data.workers, pin_memory=pin_memory,
                        persistent_workers=cfg.data.workers > 0)
    return iter(loader)
