"""A folder of videos (any container FFmpeg reads, GIF included), any depth: users' own data.

Each file is one video (video id = its line in ``sources.txt``, identity unknown: -1). All frames are used
unless ``max_frames`` is set. The whole folder gets ``split``, except that ``test_fraction > 0`` sends a
stable pseudo-random fraction of videos to test.
"""
from __future__ import annotations

from pathlib import Path

from stngan.data import layout
from stngan.data.prepare.engine import run_plan
from stngan.data.prepare.listing import VIDEO_EXTENSIONS, hashed_split, list_files, require_dir
from stngan.data.prepare.plan import ExtractOptions, Plan, Unit
from stngan.errors import InputError


def plan_videos(src: str | Path, *, max_frames: int = 0, split: str = "train", test_fraction: float = 0.0,
                videos_per_shard: int = 1) -> Plan:
    src = require_dir(Path(src), "video folder")
    layout.split_code(split)
    if max_frames < 0:
        raise InputError(f"max_frames must be >= 0 (0: all), got {max_frames}")
    files = list_files(src, VIDEO_EXTENSIONS)
    if not files:
        raise FileNotFoundError(f"no videos ({', '.join(sorted(VIDEO_EXTENSIONS))}) under {src}")
    units = tuple(Unit(f, "video", hashed_split(f, test_fraction, split), video=k, max_frames=max_frames)
                  for k, f in enumerate(files))
    options = {"max_frames": max_frames, "split": split, "test_fraction": test_fraction}
    return Plan("videos", src, units, videos_per_shard, options)


def prepare_videos(src: str | Path, dst: str | Path, *, max_frames: int = 0, split: str = "train",
                   test_fraction: float = 0.0, workers: int = 1, shard: tuple[int, int] = (0, 1),
                   detector: str = "hog", upsample: int = 1, pad: float = 0.2, videos_per_shard: int = 1,
                   progress: bool = True, max_shards: int | None = None) -> dict:
    """Prepare a folder of videos into the store ``dst``; returns the report (see ``run_plan``)."""
    plan = plan_videos(src, max_frames=max_frames, split=split, test_fraction=test_fraction,
                       videos_per_shard=videos_per_shard)
    return run_plan(plan, dst, ExtractOptions(detector, upsample, pad), workers=workers, shard=shard,
                    progress=progress, max_shards=max_shards)
