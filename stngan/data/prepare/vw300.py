"""300-VW: ``NNN/vid.avi`` with ``NNN/annot/000001.pts`` ... (68 iBUG points per frame, 1-based).

Every decoded frame is used; frame n (0-based) takes its landmarks from ``annot/<n+1:06d>.pts`` when that
file exists and parses (landmarks - 1 to 0-based pixel centres), and from dlib otherwise.

Split protocols: ``official`` (the 300-VW challenge: 50 training videos, 64 test videos of categories 1-3;
other ids are train) or ``file``: a text file of ``NNN split`` lines (split = train, val or test); videos it
does not list are left out. The paper used 70 training and 10 test videos without publishing the list:
reproduce it with a split file. The paper's image test set (Table 1) samples every 100th frame:
``FaceStore.split_indices(split, every=100)``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from stngan.data import layout
from stngan.data.prepare.engine import run_plan
from stngan.data.prepare.listing import numeric_id, require_dir
from stngan.data.prepare.plan import ExtractOptions, Plan, Unit
from stngan.data.prepare.textfiles import AnnotationError, read_lines
from stngan.errors import InputError

SplitProtocol = Literal["official", "file"]
# 300-VW test categories 1 (well lit), 2 (mild unconstrained) and 3 (challenging); the rest is training.
OFFICIAL_TEST = frozenset(
    "114 124 125 126 150 158 401 402 505 506 507 508 509 510 511 514 515 518 519 520 521 522 524 525 537 538 "
    "540 541 546 547 548 "
    "203 208 211 212 213 214 218 224 403 404 405 406 407 408 409 412 550 551 553 "
    "410 411 516 517 526 528 529 530 531 533 557 558 559 562".split())


def read_split_file(path: Path) -> dict[str, str]:
    """``NNN split`` lines -> video name -> split name."""
    out = {}
    for n, line in read_lines(Path(path)):
        parts = line.split()
        if len(parts) != 2 or parts[1] not in layout.SPLITS:
            raise AnnotationError(f"{path}:{n}: expected 'video split' with split in {', '.join(layout.SPLITS)}")
        out[parts[0]] = parts[1]
    return out


def plan_300vw(src: str | Path, *, split_protocol: SplitProtocol = "official", split_file: str | Path | None = None,
               annotations: bool = True, videos_per_shard: int = 1) -> Plan:
    """One unit per ``NNN/vid.avi``; identity and video id are the number NNN."""
    src = require_dir(Path(src), "300-VW folder")
    if split_protocol == "file":
        if split_file is None:
            raise InputError("--split-protocol file needs --split-file")
        splits = read_split_file(Path(split_file))
    elif split_protocol == "official":
        splits = None
    else:
        raise InputError(f"unknown 300-VW split protocol {split_protocol!r}; use official or file")
    names = sorted(d.name for d in src.iterdir() if (d / "vid.avi").is_file())
    if not names:
        raise FileNotFoundError(f"no NNN/vid.avi found under {src}")
    units, excluded = [], []
    for k, name in enumerate(names):
        split = ("test" if name in OFFICIAL_TEST else "train") if splits is None else splits.get(name)
        if split is None:
            excluded.append({"path": f"{name}/vid.avi", "reason": "not in the split file"})
            continue
        vid = numeric_id(name, k)
        annot = f"{name}/annot" if annotations and (src / name / "annot").is_dir() else None
        units.append(Unit(f"{name}/vid.avi", "video", layout.split_code(split), identity=vid, video=vid,
                          annotations=annot))
    options = {"split_protocol": split_protocol, "split_table": splits, "annotations": annotations}
    return Plan("300vw", src, tuple(units), videos_per_shard, options, excluded=tuple(excluded))


def prepare_300vw(src: str | Path, dst: str | Path, *, split_protocol: SplitProtocol = "official",
                  split_file: str | Path | None = None, annotations: bool = True, workers: int = 1,
                  shard: tuple[int, int] = (0, 1), detector: str = "hog", upsample: int = 1, pad: float = 0.2,
                  videos_per_shard: int = 1, progress: bool = True, max_shards: int | None = None) -> dict:
    """Prepare 300-VW into the store ``dst``; returns the report (see ``run_plan``)."""
    plan = plan_300vw(src, split_protocol=split_protocol, split_file=split_file, annotations=annotations,
                      videos_per_shard=videos_per_shard)
    return run_plan(plan, dst, ExtractOptions(detector, upsample, pad), workers=workers, shard=shard,
                    progress=progress, max_shards=max_shards)
