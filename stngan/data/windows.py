"""Which stored frames form a T-frame window for spatio-temporal training.

The rule: items i_1..i_T form a window iff they belong to the same video (video id >= 0) and their frame
indices are exactly f, f+1, ..., f+T-1, and no step between neighbours is a *jump*. So a frame with no
face (not stored), an unreadable frame, a video boundary or a duplicate frame index all break windows. A
jump is a cut or a switch to another person as seen from the crop boxes: the centre moves by more than
``max_jump`` times the crop side, or the side grows or shrinks by more than a factor ``1 + max_jump``.
Windows slide by one frame, so a run of n good frames gives n - T + 1 windows.
"""
from __future__ import annotations

import numpy as np


def jumps(transforms: np.ndarray, max_jump: float) -> np.ndarray:
    """(N-1,) bool: True where crop box n+1 is a jump from box n. ``transforms`` is (N, 3) (cx, cy, side)."""
    t = np.asarray(transforms, dtype=np.float64)
    side = np.minimum(t[:-1, 2], t[1:, 2])
    shift = np.hypot(t[1:, 0] - t[:-1, 0], t[1:, 1] - t[:-1, 1])
    scale = np.abs(np.log(t[1:, 2] / t[:-1, 2]))
    return (shift > max_jump * side) | (scale > np.log1p(max_jump))


def consecutive_windows(video: np.ndarray, frame: np.ndarray, T: int, keep: np.ndarray | None = None,
                        transforms: np.ndarray | None = None, max_jump: float | None = 0.5) -> np.ndarray:
    """(K, T) int64 item indices of every window (module rule), sorted by (video, first frame).

    ``video`` and ``frame`` are (N,) per-item arrays; ``keep`` an optional (N,) bool selecting items (e.g.
    one split); ``transforms`` (N, 3) enables the jump rule unless ``max_jump`` is None.
    """
    if int(T) != T or T < 1:
        raise ValueError(f"window length T must be a positive integer, got {T!r}")
    video, frame = np.asarray(video), np.asarray(frame)
    ok = video >= 0 if keep is None else (video >= 0) & np.asarray(keep, dtype=bool)
    idx = np.flatnonzero(ok)
    idx = idx[np.lexsort((frame[idx], video[idx]))]
    link = (video[idx[1:]] == video[idx[:-1]]) & (frame[idx[1:]] == frame[idx[:-1]] + 1)
    if transforms is not None and max_jump is not None and len(idx) > 1:
        link &= ~jumps(np.asarray(transforms)[idx], max_jump)
    # window at sorted position j needs link[j .. j+T-2] all true: count breaks with a cumulative sum
    breaks = np.concatenate([[0], np.cumsum(~link)])
    n_starts = len(idx) - T + 1
    if n_starts <= 0:
        return np.zeros((0, T), dtype=np.int64)
    starts = np.flatnonzero(breaks[T - 1:T - 1 + n_starts] == breaks[:n_starts])
    return idx[starts[:, None] + np.arange(T)].astype(np.int64)
