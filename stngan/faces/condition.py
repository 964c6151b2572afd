"""The landmark condition c fed to the generator next to the masked image (paper Sec. 3.1).

One channel per facial part; left and right are combined in one channel, so mirroring the image mirrors c.
Each channel is ``exp(-d^2 / (2 sigma^2))`` where ``d`` is the exact Euclidean distance from the pixel
centre to the part's drawing. The drawing is a set of segments between landmarks:

* jaw: open polyline 0-16;  brows: open polylines 17-21 and 22-26;
* nose: bridge 27-30 and the closed loop 30-31-32-33-34-35-30 (symmetric, unlike dlib's viewer);
* eyes: closed polygons 36-41 and 42-47;  mouth: closed polygons 48-59 and 60-67.

Values below ``exp(-CUTOFF_SIGMAS^2 / 2)`` (about 1.5e-8) are set to 0: distances are evaluated only
within ``CUTOFF_SIGMAS * sigma`` of each segment, which keeps the cost independent of the image size.
"""
from __future__ import annotations

import math

import numpy as np

from stngan.faces.landmarks import check_landmarks


def _chain(ids: range | list[int], closed: bool = False) -> list[tuple[int, int]]:
    ids = list(ids)
    pairs = list(zip(ids[:-1], ids[1:]))
    return pairs + [(ids[-1], ids[0])] if closed else pairs


CONDITION_PARTS: dict[str, list[tuple[int, int]]] = {
    "jaw": _chain(range(0, 17)),
    "brows": _chain(range(17, 22)) + _chain(range(22, 27)),
    "nose": _chain(range(27, 31)) + _chain([30, 31, 32, 33, 34, 35], closed=True),
    "eyes": _chain(range(36, 42), closed=True) + _chain(range(42, 48), closed=True),
    "mouth": _chain(range(48, 60), closed=True) + _chain(range(60, 68), closed=True),
}
N_COND_CHANNELS = len(CONDITION_PARTS)
CUTOFF_SIGMAS = 6.0
_SEG_A = np.array([a for segs in CONDITION_PARTS.values() for a, _ in segs])
_SEG_B = np.array([b for segs in CONDITION_PARTS.values() for _, b in segs])
_SEG_CHANNEL = np.concatenate([np.full(len(segs), k) for k, segs in enumerate(CONDITION_PARTS.values())])
_PIECE_LEN = 8.0  # pieces are at most max(_PIECE_LEN, cutoff) long, so all windows share one small size


def _clip_segments(a: np.ndarray, b: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, ...]:
    """Liang-Barsky clip of segments (S, 2)->(S, 2) to the square [lo, hi]^2.

    Returns the clipped endpoints and a keep mask (S,). Points outside the square are farther than the
    cut-off from every pixel, so clipping changes no rendered value and bounds the work for wild landmarks.
    """
    d = b - a
    t0, t1 = np.zeros(len(a)), np.ones(len(a))
    keep = np.ones(len(a), dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for p, q in ((-d[:, 0], a[:, 0] - lo), (d[:, 0], hi - a[:, 0]),
                     (-d[:, 1], a[:, 1] - lo), (d[:, 1], hi - a[:, 1])):
            r = q / p
            keep &= ~((p == 0) & (q < 0))
            t0 = np.where(p < 0, np.maximum(t0, r), t0)
            t1 = np.where(p > 0, np.minimum(t1, r), t1)
    keep &= t0 <= t1
    return a + t0[:, None] * d, a + t1[:, None] * d, keep


def _split_segments(a: np.ndarray, b: np.ndarray, channel: np.ndarray, max_len: float):
    """Cut segments (S, 2)->(S, 2) into pieces no longer than ``max_len``; the union of points is unchanged."""
    n = np.maximum(np.ceil(np.linalg.norm(b - a, axis=1) / max_len), 1).astype(np.int64)
    seg = np.repeat(np.arange(len(a)), n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)  # piece index within its segment
    t0, t1 = (k / n[seg])[:, None], ((k + 1) / n[seg])[:, None]
    d = b[seg] - a[seg]
    return a[seg] + t0 * d, a[seg] + t1 * d, channel[seg]


def _piece_distances(a: np.ndarray, b: np.ndarray, x0: np.ndarray, y0: np.ndarray, win: int) -> np.ndarray:
    """Squared distance from the pixel centres of each piece's ``win x win`` window to the piece: (P, win, win).

    Uses |p - a - t d|^2 = |p - a|^2 - t (2 q - t |d|^2) with q = (p - a).d, t = clip(q / |d|^2, 0, 1); every
    term is a sum of an x part and a y part, so the work is a few broadcasts over (P, win, win).
    """
    d = b - a
    dd = (d * d).sum(axis=1)
    inv = np.where(dd > 0, 1.0 / np.where(dd > 0, dd, 1.0), 0.0)  # point pieces: t = 0
    steps = np.arange(win, dtype=np.float64)
    # float32 is enough here: offsets are relative to the piece, so magnitudes stay below ~win
    px = (x0[:, None] + steps - a[:, 0:1]).astype(np.float32)  # (P, win)
    py = (y0[:, None] + steps - a[:, 1:2]).astype(np.float32)
    d, dd, inv = d.astype(np.float32), dd.astype(np.float32)[:, None, None], inv.astype(np.float32)
    q = (py * d[:, 1:2])[:, :, None] + (px * d[:, 0:1])[:, None, :]
    t = np.clip(q * inv[:, None, None], 0.0, 1.0)
    d2 = (py * py)[:, :, None] + (px * px)[:, None, :] - t * (2.0 * q - t * dd)
    return np.maximum(d2, 0.0, out=d2)


def render_condition(landmarks: np.ndarray, size: int = 128, sigma: float = 1.5) -> np.ndarray:
    """Render (68, 2) (x, y) landmarks, in the coordinates of a ``size x size`` crop, as c.

    Returns float32 (N_COND_CHANNELS, size, size) in [0, 1], channels in CONDITION_PARTS order (jaw,
    brows, nose, eyes, mouth); a pixel on a drawn segment (e.g. at an integer-valued landmark) is exactly 1.
    Landmarks may be anywhere, including outside the crop (those parts are simply cut off or absent).
    """
    lm = check_landmarks(landmarks)
    if not (sigma > 0 and math.isfinite(sigma)):
        raise ValueError(f"sigma must be a positive number, got {sigma}")
    if int(size) != size or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    size = int(size)
    reach = CUTOFF_SIGMAS * sigma
    a, b, keep = _clip_segments(lm[_SEG_A], lm[_SEG_B], -reach, size - 1 + reach)
    a, b, channel = _split_segments(a[keep], b[keep], _SEG_CHANNEL[keep], max(_PIECE_LEN, reach))
    win = int(math.ceil(max(_PIECE_LEN, reach) + 2 * reach)) + 2
    origin = np.ceil(np.minimum(a, b) - reach)  # (P, 2) top-left pixel of each piece's window
    d2 = _piece_distances(a, b, origin[:, 0], origin[:, 1], win)

    # scatter-min each window into its channel, clipped to the image (a short Python loop over ~100 pieces)
    start = origin.astype(np.int64)
    lo_img, hi_img = np.clip(start, 0, size), np.clip(start + win, 0, size)
    rows = np.column_stack([channel, lo_img, hi_img, lo_img - start, hi_img - start]).tolist()
    best = np.full((N_COND_CHANNELS, size, size), np.inf, dtype=np.float32)
    for k, (c, x0, y0, x1, y1, wx0, wy0, wx1, wy1) in enumerate(rows):
        target = best[c, y0:y1, x0:x1]
        np.minimum(target, d2[k, wy0:wy1, wx0:wx1], out=target)
    best[best > reach * reach] = np.inf
    best *= np.float32(-0.5 / (sigma * sigma))
    return np.exp(best, out=best)
