"""Parsers for the datasets' annotation files, tolerant of CRLF line endings, a BOM and blank lines.

Every parse error is a :class:`AnnotationError` whose one-line message names the file and line.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from stngan.errors import UserError


class AnnotationError(UserError, ValueError):
    """A dataset annotation file that does not have the documented format."""


def read_lines(path: Path) -> list[tuple[int, str]]:
    """(1-based line number, stripped text) of every non-blank line; CRLF, CR and LF all end a line."""
    try:
        with open(path, encoding="utf-8-sig", newline=None) as f:
            return [(n, s) for n, line in enumerate(f, 1) if (s := line.strip())]
    except UnicodeDecodeError as e:
        raise AnnotationError(f"{path}: not a text file ({e.reason})") from None


def read_name_value(path: Path) -> dict[str, str]:
    """CelebA ``list_eval_partition.txt`` / ``identity_CelebA.txt``: ``name value`` per line, no header."""
    out: dict[str, str] = {}
    for n, line in read_lines(path):
        parts = line.split()
        if len(parts) != 2:
            raise AnnotationError(f"{path}:{n}: expected 'name value', got {line[:80]!r}")
        out[parts[0]] = parts[1]
    if not out:
        raise AnnotationError(f"{path}: empty")
    return out


def read_counted_table(path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """CelebA bbox / landmark lists: a count line, a header of column names, then ``name v1 v2 ...``.

    The header may or may not name the image column (``image_id x_1 y_1 width height`` vs. ``lefteye_x
    ...``). Returns the value column names and name -> float64 values; the count must match the rows.
    """
    lines = read_lines(path)
    if len(lines) < 2:
        raise AnnotationError(f"{path}: expected a count line and a header line")
    try:
        count = int(lines[0][1])
    except ValueError:
        raise AnnotationError(f"{path}:{lines[0][0]}: first line must be the row count, got "
                              f"{lines[0][1][:40]!r}") from None
    columns = lines[1][1].split()
    if columns and columns[0] in ("image_id", "image", "name"):
        columns = columns[1:]
    rows: dict[str, np.ndarray] = {}
    for n, line in lines[2:]:
        parts = line.split()
        if len(parts) != len(columns) + 1:
            raise AnnotationError(f"{path}:{n}: expected a name and {len(columns)} values, got {len(parts)} fields")
        try:
            rows[parts[0]] = np.array([float(v) for v in parts[1:]])
        except ValueError:
            raise AnnotationError(f"{path}:{n}: non-numeric value in {line[:80]!r}") from None
    if len(rows) != count:
        raise AnnotationError(f"{path}: header says {count} rows, found {len(rows)}")
    return columns, rows


def read_pts(path: Path, n_points: int = 68) -> np.ndarray:
    """iBUG ``.pts`` (``version: 1``, ``n_points: 68``, points between braces) -> (n, 2) float64 as written
    (1-based pixel coordinates in 300-W / 300-VW)."""
    lines = [s for _, s in read_lines(path)]
    header = {k.strip(): v.strip() for k, v in (s.split(":", 1) for s in lines if ":" in s)}
    declared = header.get("n_points", "")
    if declared != str(n_points):
        raise AnnotationError(f"{path}: n_points is {declared or 'missing'}, expected {n_points}")
    try:
        body = lines[lines.index("{") + 1:lines.index("}")]
    except ValueError:
        raise AnnotationError(f"{path}: points must be enclosed in '{{' and '}}' lines") from None
    try:
        pts = np.array([[float(v) for v in s.split()] for s in body], dtype=np.float64)
    except ValueError:
        raise AnnotationError(f"{path}: non-numeric point") from None
    if pts.shape != (n_points, 2) or not np.isfinite(pts).all():
        raise AnnotationError(f"{path}: expected {n_points} finite 'x y' rows, got shape {pts.shape}")
    return pts


def read_pair_split(path: Path) -> list[str]:
    """FaceForensics++ ``splits/{train,val,test}.json``: a list of [target, source] id pairs -> the ids."""
    try:
        pairs = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AnnotationError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        raise AnnotationError(f"{path}: expected a JSON list of [id, id] pairs")
    return [str(v) for p in pairs for v in p]
