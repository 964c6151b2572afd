"""What a preparation will do, decided before any pixel is read: the ordered units and their shards.

A *unit* is one source file (an image, or a video with its frames). Units are sorted, so every machine that
lists the same dataset builds the same plan; shard ``k`` holds units ``[k * units_per_shard, (k+1) *
units_per_shard)``. The plan's config hash names the store's content: resuming or sharding across machines
is allowed only into a store with the same hash.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from stngan.data import layout
from stngan.errors import InputError


@dataclass(frozen=True)
class ExtractOptions:
    """How faces are found and cropped; part of the store's identity (its config hash)."""

    detector: Literal["hog", "cnn"] = "hog"
    upsample: int = 1  # highest upsampling tried; each frame is first searched at 0 (see FaceExtractor)
    pad: float = 0.2  # paper 4.1
    size: int = layout.CROP_SIZE

    def __post_init__(self) -> None:
        if self.detector not in ("hog", "cnn"):
            raise InputError(f"unknown detector {self.detector!r}; use hog or cnn")
        if int(self.upsample) != self.upsample or not 0 <= self.upsample <= 4:
            raise InputError(f"upsample must be an integer in 0..4, got {self.upsample!r}")
        if not 0.0 <= self.pad <= 2.0:
            raise InputError(f"pad must be in [0, 2], got {self.pad}")
        if self.size != layout.CROP_SIZE:
            raise InputError(f"the store holds {layout.CROP_SIZE}-px crops, got size {self.size}")


@dataclass(frozen=True)
class Unit:
    """One source file and the labels its faces get."""

    path: str  # relative to Plan.root, '/'-separated
    kind: Literal["image", "video"]
    split: int  # index into layout.SPLITS
    identity: int = -1
    video: int = -1
    max_frames: int = 0  # videos: decode at most this many frames (0: all)
    annotations: str | None = None  # directory (relative) with 000001.pts, 000002.pts, ... (1-based frames)
    hint: tuple[float, float] | None = None  # a point on the wanted face, from the dataset's annotation


@dataclass(frozen=True)
class Plan:
    kind: str  # celeba | 300vw | faceforensics | folder | videos
    root: Path
    units: tuple[Unit, ...]
    units_per_shard: int
    options: dict[str, Any]  # the source's own options, recorded in the manifest
    identities: tuple[str, ...] = ()  # identity names when identities are names (index = identity id)
    excluded: tuple[dict[str, str], ...] = field(default=())  # {"path", "reason"}: left out by the plan

    def __post_init__(self) -> None:
        if self.units_per_shard < 1:
            raise InputError(f"units_per_shard must be >= 1, got {self.units_per_shard}")

    @property
    def n_shards(self) -> int:
        return -(-len(self.units) // self.units_per_shard)

    def shard_units(self, k: int) -> range:
        """Unit indices (= source indices) of shard ``k``."""
        return range(k * self.units_per_shard, min((k + 1) * self.units_per_shard, len(self.units)))

    def config(self, extract: ExtractOptions) -> dict[str, Any]:
        """Everything that determines the store's content; the source root is informative only, so the
        same dataset mounted elsewhere (another machine) yields the same hash."""
        units = hashlib.sha256(repr(self.units).encode()).hexdigest()
        return {"format_version": layout.FORMAT_VERSION, "kind": self.kind, "options": self.options,
                "extract": asdict(extract), "units": len(self.units), "units_per_shard": self.units_per_shard,
                "units_sha256": units}


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n) with 0 <= i < n; one-line ValueError otherwise."""
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise InputError(f"--shard must look like i/n (e.g. 0/4), got {text!r}") from None
    check_shard((i, n))
    return i, n


def check_shard(shard: tuple[int, int]) -> None:
    i, n = shard
    if not (n >= 1 and 0 <= i < n):
        raise InputError(f"shard must satisfy 0 <= i < n, got {i}/{n}")
