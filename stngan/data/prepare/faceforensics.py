"""FaceForensics++ original videos: ``original_sequences/youtube/<compression>/videos/NNN.mp4``.

The standard split comes from the FaceForensics++ repository's ``splits/{train,val,test}.json`` (lists of
[target, source] id pairs; every id of a pair gets that split). Videos in no split file are left out and
listed in the report's ``excluded``. The paper uses the first 30 frames of each video (``frames=30``).
"""
from __future__ import annotations

from pathlib import Path

from stngan.data import layout
from stngan.data.prepare.engine import run_plan
from stngan.data.prepare.listing import VIDEO_EXTENSIONS, list_files, numeric_id, require_dir
from stngan.data.prepare.plan import ExtractOptions, Plan, Unit
from stngan.data.prepare.textfiles import AnnotationError, read_pair_split
from stngan.errors import InputError

COMPRESSIONS = ("raw", "c0", "c23", "c40")
SPLIT_FILES = {"train": "train.json", "val": "val.json", "test": "test.json"}


def videos_dir(src: Path, compression: str) -> Path:
    if compression not in COMPRESSIONS:
        raise InputError(f"unknown compression {compression!r}; use one of {', '.join(COMPRESSIONS)}")
    d = src / "original_sequences" / "youtube" / compression / "videos"
    if not d.is_dir():
        have = [c for c in COMPRESSIONS if (d.parent.parent / c / "videos").is_dir()]
        raise FileNotFoundError(f"{d} not found" + (f"; available: --compression {', '.join(have)}" if have else ""))
    return d


def read_splits(splits_dir: Path) -> dict[str, str]:
    """Video id -> split from ``train.json``, ``val.json``, ``test.json`` in ``splits_dir``."""
    out: dict[str, str] = {}
    for split, name in SPLIT_FILES.items():
        path = splits_dir / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: pass --splits DIR holding FaceForensics++ "
                                    "splits/{train,val,test}.json")
        for vid in read_pair_split(path):
            if out.setdefault(vid, split) != split:
                raise AnnotationError(f"{path}: video {vid} is also in {out[vid]}.json")
    return out


def plan_faceforensics(src: str | Path, *, compression: str = "c23", frames: int = 30,
                       splits_dir: str | Path | None = None, videos_per_shard: int = 20) -> Plan:
    """One unit per original video in a split; identity and video id are its number."""
    src = require_dir(Path(src), "FaceForensics++ folder")
    if frames < 0:
        raise InputError(f"frames must be >= 0 (0: all), got {frames}")
    vdir = videos_dir(src, compression)
    splits = read_splits(Path(splits_dir) if splits_dir is not None else src / "splits")
    prefix = vdir.relative_to(src).as_posix()
    units, excluded = [], []
    for k, rel in enumerate(list_files(vdir, VIDEO_EXTENSIONS)):
        name = Path(rel).stem
        if name not in splits:
            excluded.append({"path": f"{prefix}/{rel}", "reason": "in no split file"})
            continue
        vid = numeric_id(name, k)
        units.append(Unit(f"{prefix}/{rel}", "video", layout.split_code(splits[name]), identity=vid, video=vid,
                          max_frames=frames))
    options = {"compression": compression, "frames": frames, "split_table": splits}
    return Plan("faceforensics", src, tuple(units), videos_per_shard, options, excluded=tuple(excluded))


def prepare_faceforensics(src: str | Path, dst: str | Path, *, compression: str = "c23", frames: int = 30,
                          splits_dir: str | Path | None = None, workers: int = 1, shard: tuple[int, int] = (0, 1),
                          detector: str = "hog", upsample: int = 1, pad: float = 0.2, videos_per_shard: int = 20,
                          progress: bool = True, max_shards: int | None = None) -> dict:
    """Prepare FaceForensics++ original videos into the store ``dst``; returns the report."""
    plan = plan_faceforensics(src, compression=compression, frames=frames, splits_dir=splits_dir,
                              videos_per_shard=videos_per_shard)
    return run_plan(plan, dst, ExtractOptions(detector, upsample, pad), workers=workers, shard=shard,
                    progress=progress, max_shards=max_shards)
