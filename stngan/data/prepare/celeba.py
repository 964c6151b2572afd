"""CelebA: ``img_align_celeba/`` (178x218) or ``img_celeba/`` (in the wild) with the list files.

Accepted layouts: the list files and the image folder directly under ``src``, or the Google Drive layout
(``Img/``, ``Anno/``, ``Eval/``), or Kaggle's doubled folder (``img_align_celeba/img_align_celeba/``).

Split protocols:

* ``paper``: test = the images of the ``test_identities`` (98) smallest identity numbers of
  ``identity_CelebA.txt``, train = all other images (paper 4.1: "the first 98 identities ... 2353 images").
* ``official``: ``list_eval_partition.txt`` 0/1/2 -> train/val/test.

Optional annotations: the 5-point landmark file for the chosen images (``list_landmarks_align_celeba.txt``
or ``list_landmarks_celeba.txt``) or, for the in-the-wild images, ``list_bbox_celeba.txt`` give a point on
the annotated face (the nose, or the bbox centre); with several faces, the largest one containing that point
is kept.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from stngan.data import layout
from stngan.data.prepare.engine import run_plan
from stngan.data.prepare.listing import find_file, require_dir
from stngan.data.prepare.plan import ExtractOptions, Plan, Unit
from stngan.data.prepare.textfiles import AnnotationError, read_counted_table, read_name_value
from stngan.errors import InputError

Variant = Literal["align", "wild"]
SplitProtocol = Literal["paper", "official"]
_IMAGE_DIRS = {"align": "img_align_celeba", "wild": "img_celeba"}
_LANDMARK_FILES = {"align": "list_landmarks_align_celeba.txt", "wild": "list_landmarks_celeba.txt"}
_LIST_DIRS = ("Anno", "Eval", "anno", "eval")
_OFFICIAL = {"0": "train", "1": "val", "2": "test"}


def image_dir(src: Path, variant: Variant) -> Path:
    name = _IMAGE_DIRS[variant]
    for d in (src / name, src / "Img" / name):
        if d.is_dir():
            nested = d / name
            return nested if nested.is_dir() else d
    raise FileNotFoundError(f"CelebA image folder {name}/ not found under {src} (nor under {src / 'Img'})")


def _required(src: Path, name: str, why: str) -> Path:
    p = find_file(src, name, _LIST_DIRS)
    if p is None:
        raise FileNotFoundError(f"{name} not found under {src} (needed for {why})")
    return p


def _splits(src: Path, protocol: SplitProtocol, identities: dict[str, int], test_identities: int
            ) -> dict[str, str]:
    if protocol == "official":
        path = _required(src, "list_eval_partition.txt", "--split-protocol official")
        part = read_name_value(path)
        bad = next((v for v in part.values() if v not in _OFFICIAL), None)
        if bad is not None:
            raise AnnotationError(f"{path}: partition values must be 0, 1 or 2, got {bad!r}")
        return {name: _OFFICIAL[v] for name, v in part.items()}
    if protocol != "paper":
        raise InputError(f"unknown CelebA split protocol {protocol!r}; use paper or official")
    test_ids = set(sorted(set(identities.values()))[:test_identities])
    return {name: "test" if i in test_ids else "train" for name, i in identities.items()}


def _identities(src: Path, required: bool) -> dict[str, int]:
    path = find_file(src, "identity_CelebA.txt", _LIST_DIRS)
    if path is None:
        if required:
            raise FileNotFoundError(f"identity_CelebA.txt not found under {src} (needed for the paper split)")
        return {}
    try:
        return {name: int(v) for name, v in read_name_value(path).items()}
    except ValueError:
        raise AnnotationError(f"{path}: identities must be integers") from None


def _hints(src: Path, variant: Variant) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """Image name -> a point on its annotated face, and the annotation files used."""
    lm_path = find_file(src, _LANDMARK_FILES[variant], _LIST_DIRS)
    if lm_path is not None:
        columns, rows = read_counted_table(lm_path)
        if not {"nose_x", "nose_y"} <= set(columns):
            raise AnnotationError(f"{lm_path}: header has no nose_x / nose_y columns")
        x, y = columns.index("nose_x"), columns.index("nose_y")
        return {name: (float(v[x]), float(v[y])) for name, v in rows.items()}, [lm_path.name]
    bbox_path = find_file(src, "list_bbox_celeba.txt", _LIST_DIRS) if variant == "wild" else None
    if bbox_path is not None:
        _, rows = read_counted_table(bbox_path)
        return {name: (float(v[0] + v[2] / 2), float(v[1] + v[3] / 2)) for name, v in rows.items()}, \
            [bbox_path.name]
    return {}, []


def plan_celeba(src: str | Path, *, variant: Variant = "align", split_protocol: SplitProtocol = "paper",
                test_identities: int = 98, hints: bool = True, images_per_shard: int = 1000) -> Plan:
    """The units of a CelebA preparation: one per image listed by the split protocol's list file."""
    src = require_dir(Path(src), "CelebA folder")
    if variant not in _IMAGE_DIRS:
        raise InputError(f"unknown CelebA variant {variant!r}; use align (178x218) or wild")
    images = image_dir(src, variant)
    identities = _identities(src, required=split_protocol == "paper")
    splits = _splits(src, split_protocol, identities, test_identities)
    points, hint_files = _hints(src, variant) if hints else ({}, [])
    prefix = images.relative_to(src).as_posix()
    units = tuple(Unit(f"{prefix}/{name}", "image", layout.split_code(splits[name]),
                       identity=identities.get(name, -1), hint=points.get(name))
                  for name in sorted(splits))
    options = {"variant": variant, "split_protocol": split_protocol, "test_identities": test_identities,
               "hint_files": hint_files}
    return Plan("celeba", src, units, images_per_shard, options)


def prepare_celeba(src: str | Path, dst: str | Path, *, variant: Variant = "align",
                   split_protocol: SplitProtocol = "paper", test_identities: int = 98, hints: bool = True,
                   workers: int = 1, shard: tuple[int, int] = (0, 1), detector: str = "hog", upsample: int = 1,
                   pad: float = 0.2, images_per_shard: int = 1000, progress: bool = True,
                   max_shards: int | None = None) -> dict:
    """Prepare CelebA into the store ``dst``; returns the report (see ``run_plan``)."""
    plan = plan_celeba(src, variant=variant, split_protocol=split_protocol, test_identities=test_identities,
                       hints=hints, images_per_shard=images_per_shard)
    return run_plan(plan, dst, ExtractOptions(detector, upsample, pad), workers=workers, shard=shard,
                    progress=progress, max_shards=max_shards)
