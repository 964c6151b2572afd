"""Pictures, styles and small text helpers for the privacy review page (:mod:`stngan.inference.review`).

Face crops show the mask circles of the sidecar as red outlines over the *original* pixels, so a reviewer
sees what was hidden; thumbnails are downscaled display-oriented frames; the face-count plot is a
matplotlib figure as a PNG data URI. Coordinates follow the sidecar: pixel centres at integers.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import TypeVar

import numpy as np
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

from stngan.inference.sidecar import FaceRecord
from stngan.report.figures import figure_data_uri

CROP_HEIGHT = 128  # px, height of a face crop on the page
CROP_MAX_WIDTH = 256  # px, crops of very wide boxes are squeezed to this
CROP_PAD = 0.3  # of the box width / height, added on every side
THUMB_HEIGHT = 108  # px, height of a no-face frame thumbnail
OUTSIDE_GREY = 96  # fill for the part of a padded crop that lies outside the frame
MASK_FILL = (255, 0, 0, 80)  # semi-transparent red inside each circle
MASK_OUTLINE = (255, 0, 0, 255)
PAGE_CSS = (  # the page's own classes, on top of stngan.report.html's stylesheet
    "<style>"
    ".alert{background:#fde2e1;border:2px solid #c0392b;color:#7b1d14;padding:.8em 1em;font-size:1.15em;"
    "font-weight:600}"
    ".track{display:flex;align-items:flex-start;gap:.6em;border-left:5px solid #2e86de;padding:.4em .6em;"
    "margin:.6em 0;background:#f7f9fc}"
    ".track.fallback{border-left-color:#c0392b;background:#fdf0ef}"
    ".badge{background:#c0392b;color:#fff;padding:0 .4em;border-radius:3px;font-size:.8em}"
    ".grid{display:flex;flex-wrap:wrap;gap:.4em}.grid figure,.track figure{margin:0}"
    ".grid figcaption,.track figcaption{font-size:.72em}.cap{font-size:.85em;min-width:16em}"
    "</style>"
)

T = TypeVar("T")


def evenly_spaced(items: Sequence[T], limit: int) -> list[T]:
    """At most ``limit`` items spread evenly over ``items`` (first and last included), order kept."""
    if len(items) <= limit:
        return list(items)
    picks = np.unique(np.linspace(0, len(items) - 1, limit).round().astype(int))
    return [items[i] for i in picks]


def frame_ranges(indices: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted frame indices as inclusive runs: [0, 1, 2, 5] -> [(0, 2), (5, 5)]."""
    runs: list[tuple[int, int]] = []
    for i in sorted(indices):
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def ranges_text(runs: Sequence[tuple[int, int]], limit: int = 200) -> str:
    """Runs as "0–11, 17, 240–260" (en dashes); beyond ``limit`` runs, a count of the rest."""
    parts = [str(a) if a == b else f"{a}–{b}" for a, b in runs[:limit]]
    if len(runs) > limit:
        parts.append(f"… and {len(runs) - limit} more ranges")
    return ", ".join(parts)


def plural(n: int, noun: str) -> str:
    """"1 face", "2 faces"."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def counts_text(counter: Counter, names: Sequence[str]) -> str:
    """Non-zero counts in the order of ``names``: "lm68 6, lm5 1"."""
    return ", ".join(f"{n} {counter[n]}" for n in names if counter[n])


def _padded_window(face: FaceRecord) -> tuple[int, int, int, int]:
    """Integer pixel window (x0, y0, x1, y1), end exclusive, of the face box padded by CROP_PAD."""
    b = face.box
    pad_x, pad_y = CROP_PAD * b.width, CROP_PAD * b.height
    x0, y0 = math.floor(b.left - pad_x + 0.5), math.floor(b.top - pad_y + 0.5)
    x1, y1 = math.ceil(b.right + pad_x - 0.5) + 1, math.ceil(b.bottom + pad_y - 0.5) + 1
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def _cut(image: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """``image[y0:y1, x0:x1]`` where parts outside the frame are grey instead of missing."""
    out = np.full((y1 - y0, x1 - x0, 3), OUTSIDE_GREY, np.uint8)
    h, w = image.shape[:2]
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if sx0 < sx1 and sy0 < sy1:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out


def face_crop(image: np.ndarray, face: FaceRecord) -> np.ndarray:
    """(CROP_HEIGHT, w, 3) uint8: the padded face box of a display-oriented frame with its mask circles drawn."""
    x0, y0, x1, y1 = _padded_window(face)
    scale = CROP_HEIGHT / (y1 - y0)
    size = (max(1, min(CROP_MAX_WIDTH, round((x1 - x0) * scale))), CROP_HEIGHT)
    sx = size[0] / (x1 - x0)
    crop = Image.fromarray(_cut(image, x0, y0, x1, y1)).resize(size, Image.BILINEAR).convert("RGBA")
    overlay = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for c in face.mask.circles:  # PIL pixel k spans [k, k+1]: a pixel centre j sits at j - x0 + 0.5
        u, v = (c.cx - x0 + 0.5) * sx, (c.cy - y0 + 0.5) * scale
        draw.ellipse((u - c.r * sx, v - c.r * scale, u + c.r * sx, v + c.r * scale),
                     fill=MASK_FILL, outline=MASK_OUTLINE, width=2)
    return np.asarray(Image.alpha_composite(crop, overlay).convert("RGB"))


def thumbnail(image: np.ndarray, height: int = THUMB_HEIGHT) -> np.ndarray:
    """A display-oriented frame downscaled to ``height`` pixels high (aspect kept)."""
    width = max(1, round(image.shape[1] * height / image.shape[0]))
    return np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize((width, height), Image.BILINEAR))


def face_count_plot(counts: np.ndarray, interpolated: np.ndarray, held: np.ndarray) -> str:
    """Faces per frame (line) with frames holding interpolated / held faces marked; PNG data URI.

    All three are (frame_count,) integer arrays: faces, interpolated faces and held faces per frame.
    """
    fig = Figure(figsize=(10, 2.6))
    ax = fig.subplots()
    frames = np.arange(len(counts))
    ax.step(frames, counts, where="mid", color="#1f5fbf", lw=1.2, label="faces (all)")
    for mask, colour, label in ((interpolated > 0, "#e67e00", "frame has interpolated faces"),
                                (held > 0, "#8e44ad", "frame has held faces")):
        if mask.any():
            ax.scatter(frames[mask], counts[mask], s=18, color=colour, zorder=3, label=label)
    none = counts == 0
    if none.any():
        ax.scatter(frames[none], counts[none], s=6, color="#c0392b", marker="|", zorder=3, label="no face")
    ax.set_xlabel("frame")
    ax.set_ylabel("faces")
    ax.set_ylim(-0.3, max(1, int(counts.max(initial=0))) + 0.5)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=7, loc="upper right")
    return figure_data_uri(fig)
