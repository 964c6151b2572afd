"""What a batch works on: every file of a folder, or the files a manifest (text or CSV) lists, and a shard of them.

Outputs mirror the inputs below a root: the folder itself, or for a manifest the deepest folder that holds
every listed file, so ``a/x.mp4`` and ``b/y.mp4`` listed anywhere come out as ``OUT/a/x.mp4``, ``OUT/b/y.mp4``.
"""
from __future__ import annotations

import csv
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from stngan.batch.errors import BatchError

MANIFEST_SUFFIXES = {".txt", ".csv"}
JOB_FILE_PREFIX = "stngan-jobs"  # job files are never inputs (an anonymized folder is the next inpaint's input)
SIDECAR_SUFFIX = ".stngan.json"


@dataclass(frozen=True)
class Inputs:
    root: Path
    rels: list[str]  # posix paths relative to root, sorted, unique


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def holds(self, rel: str) -> bool:
        """Stable across runs and corpus growth: a file never moves to another shard when others are added."""
        return zlib.crc32(rel.encode()) % self.count == self.index - 1

    @property
    def tag(self) -> str:
        return f"shard-{self.index}-of-{self.count}"


def parse_shard(text: str) -> Shard:
    parts = text.split("/")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise BatchError(f"--shard takes i/n (e.g. 1/4), got {text!r}")
    index, count = (int(p) for p in parts)
    if not 1 <= index <= count:
        raise BatchError(f"--shard {text}: i must be between 1 and n")
    return Shard(index, count)


def is_manifest(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES


def list_inputs(src: Path) -> Inputs:
    """The files a folder holds (sidecars and job files left out) or a manifest lists."""
    if src.is_dir():
        rels = [p.relative_to(src).as_posix() for p in src.rglob("*")
                if p.is_file() and not _is_bookkeeping(p.name)]
        return Inputs(src, sorted(rels))
    if is_manifest(src):
        return _from_manifest(src)
    raise BatchError(f"{src}: a batch runs over a folder or a manifest (.txt / .csv list of files)")


def _is_bookkeeping(name: str) -> bool:
    return name.endswith(SIDECAR_SUFFIX) or name.startswith(JOB_FILE_PREFIX)


def _from_manifest(path: Path) -> Inputs:
    entries = _csv_paths(path) if path.suffix.lower() == ".csv" else _text_paths(path)
    if not entries:
        raise BatchError(f"{path}: the manifest lists no files")
    files = [Path(os.path.normpath(path.parent / e)) for e in entries]  # relative entries: to the manifest
    root = Path(os.path.commonpath([f.parent for f in files]))
    rels = sorted({f.relative_to(root).as_posix() for f in files})
    return Inputs(root, rels)


def _text_paths(path: Path) -> list[str]:
    """One path per line; blank lines and lines starting with # are ignored."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _csv_paths(path: Path) -> list[str]:
    """The column named ``path`` (or ``file``), else the first column when the first row is not a header."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = [row for row in csv.reader(f) if row and any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    for name in ("path", "file"):
        if name in header:
            col = header.index(name)
            return [row[col].strip() for row in rows[1:] if len(row) > col and row[col].strip()]
    if (path.parent / rows[0][0].strip()).exists():
        return [row[0].strip() for row in rows]
    raise BatchError(f"{path}: a CSV manifest needs a 'path' column (header row), got columns {rows[0]}")
