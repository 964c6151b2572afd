"""A folder of face images, any depth: users' own data.

Identity = the image's folder relative to ``src`` (so ``person_a/1.jpg`` and ``person_a/2.jpg`` share one;
images directly in ``src`` have identity -1). The whole folder gets ``split``, except that with
``test_fraction > 0`` a stable pseudo-random fraction of identities (of files, for images directly in
``src``) goes to test, so one identity never lands in two splits.
"""
from __future__ import annotations

from pathlib import Path

from stngan.data import layout
from stngan.data.prepare.engine import run_plan
from stngan.data.prepare.listing import IMAGE_EXTENSIONS, hashed_split, list_files, require_dir
from stngan.data.prepare.plan import ExtractOptions, Plan, Unit


def plan_folder(src: str | Path, *, split: str = "train", test_fraction: float = 0.0,
                images_per_shard: int = 1000) -> Plan:
    src = require_dir(Path(src), "image folder")
    layout.split_code(split)
    files = list_files(src, IMAGE_EXTENSIONS)
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) under {src}")
    names = sorted({Path(f).parent.as_posix() for f in files} - {"."})
    ids = {name: i for i, name in enumerate(names)}
    units = []
    for f in files:
        parent = Path(f).parent.as_posix()
        units.append(Unit(f, "image", hashed_split(parent if parent != "." else f, test_fraction, split),
                          identity=ids.get(parent, -1)))
    options = {"split": split, "test_fraction": test_fraction}
    return Plan("folder", src, tuple(units), images_per_shard, options, identities=tuple(names))


def prepare_folder(src: str | Path, dst: str | Path, *, split: str = "train", test_fraction: float = 0.0,
                   workers: int = 1, shard: tuple[int, int] = (0, 1), detector: str = "hog", upsample: int = 1,
                   pad: float = 0.2, images_per_shard: int = 1000, progress: bool = True,
                   max_shards: int | None = None) -> dict:
    """Prepare a folder of images into the store ``dst``; returns the report (see ``run_plan``)."""
    plan = plan_folder(src, split=split, test_fraction=test_fraction, images_per_shard=images_per_shard)
    return run_plan(plan, dst, ExtractOptions(detector, upsample, pad), workers=workers, shard=shard,
                    progress=progress, max_shards=max_shards)
