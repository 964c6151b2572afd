"""The on-disk layout of a face-crop store: names, dtypes and shapes shared by its writer and readers.

A store is a directory::

    manifest.json         format version, counts per split, the exact prepare config, the report
    sources.txt           one source path (relative to the prepared root) per line; items index it
    identities.txt        optional: identity names, when identities are names rather than numbers
    shard-00000/          one finished shard (created by an atomic rename, so it is complete or absent)
        crops.npy         (N, 128, 128, 3) uint8 face crops
        landmarks.npy     (N, 68, 2) float32 landmarks in crop coordinates (pixel centres at integers)
        transforms.npy    (N, 3) float64 crop transform (cx, cy, side) in source-frame pixels
        source.npy        (N,) int32 line of sources.txt
        frame.npy         (N,) int32 0-based decoded frame index (0 for still images)
        identity.npy      (N,) int32 identity id (-1: unknown)
        video.npy         (N,) int32 video id (-1: a still image)
        split.npy         (N,) int8 index into SPLITS
        annotated.npy     (N,) uint8 1 when the landmarks came from the dataset's annotation, 0 from dlib
        meta.json         shard number, unit range, config hash, counts and the shard's report
    .tmp-shard-00000-*/   a shard being written (ignored by readers; removed by the next run)
"""
from __future__ import annotations

import numpy as np

from stngan.config import CROP_SIZE

FORMAT_VERSION = 1
N_LANDMARKS = 68
SPLITS: tuple[str, ...] = ("train", "val", "test")
MANIFEST = "manifest.json"
SOURCES = "sources.txt"
IDENTITIES = "identities.txt"
SHARD_META = "meta.json"
SHARD_PREFIX = "shard-"
TMP_PREFIX = ".tmp-"

# name -> (dtype, shape of one item); the order is the order arrays are written and checked.
ARRAYS: dict[str, tuple[np.dtype, tuple[int, ...]]] = {
    "crops": (np.dtype(np.uint8), (CROP_SIZE, CROP_SIZE, 3)),
    "landmarks": (np.dtype(np.float32), (N_LANDMARKS, 2)),
    "transforms": (np.dtype(np.float64), (3,)),
    "source": (np.dtype(np.int32), ()),
    "frame": (np.dtype(np.int32), ()),
    "identity": (np.dtype(np.int32), ()),
    "video": (np.dtype(np.int32), ()),
    "split": (np.dtype(np.int8), ()),
    "annotated": (np.dtype(np.uint8), ()),
}
# Small per-item arrays a reader loads into memory in full; the others stay memory-mapped.
METADATA_ARRAYS = ("transforms", "source", "frame", "identity", "video", "split", "annotated")


def shard_name(k: int) -> str:
    return f"{SHARD_PREFIX}{k:05d}"


def tmp_shard_prefix(k: int) -> str:
    return f"{TMP_PREFIX}{shard_name(k)}-"


def split_code(name: str) -> int:
    """Index of a split name in SPLITS, or ValueError naming the valid ones."""
    try:
        return SPLITS.index(name)
    except ValueError:
        raise ValueError(f"unknown split {name!r}; use one of {', '.join(SPLITS)}") from None
