"""Finding a dataset's files and assigning splits, shared by the source modules."""
from __future__ import annotations

import os
import zlib
from pathlib import Path

from stngan.data import layout
from stngan.errors import InputError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv",
                              ".flv", ".ts", ".mts", ".3gp", ".gif"})


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise FileNotFoundError(f"{what} not found: {path}")
    return path


def list_files(root: Path, extensions: frozenset[str]) -> list[str]:
    """Sorted '/'-separated paths (relative to ``root``) of files with these extensions, any depth.

    Hidden files and directories (a leading '.', e.g. macOS ``._*`` resource forks) are skipped.
    """
    out = []
    for dirpath, dirnames, filenames in os.walk(require_dir(root, "input folder")):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel = Path(dirpath).relative_to(root)
        out += [(rel / f).as_posix() for f in filenames
                if not f.startswith(".") and Path(f).suffix.lower() in extensions]
    return sorted(out)


def find_file(root: Path, name: str, subdirs: tuple[str, ...] = ()) -> Path | None:
    """``root/name`` or ``root/<subdir>/name`` for the first subdir that has it."""
    for d in ("", *subdirs):
        p = root / d / name
        if p.is_file():
            return p
    return None


def hashed_split(key: str, test_fraction: float, default: str = "train") -> int:
    """Split code for ``key``: 'test' for a stable pseudo-random ``test_fraction`` of keys (CRC32 of the
    key, so the same key lands in the same split on every machine and every run), else ``default``."""
    if not 0.0 <= test_fraction <= 1.0:
        raise InputError(f"test fraction must be in [0, 1], got {test_fraction}")
    if test_fraction > 0 and zlib.crc32(key.encode()) / 2**32 < test_fraction:
        return layout.split_code("test")
    return layout.split_code(default)


def numeric_id(name: str, fallback: int) -> int:
    """A dataset id like '007' -> 7; names that are not numbers get ``fallback``."""
    return int(name) if name.isdigit() else fallback
