"""Plain data passed between the video reader, the writer and their callers, plus orientation helpers.

Timestamps are integers in a stream's ``time_base`` (a Fraction of a second), as in FFmpeg: the time of a
frame in seconds is ``pts * time_base``. Orientation follows FFmpeg's display matrix: ``rotation`` is the
angle in degrees by which a player rotates the stored picture counter-clockwise before showing it
(phone videos shot upright typically store -90 or 90). Frames are always handled as stored.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One decoded video frame.

    ``image`` is (H, W, 3) uint8 RGB as stored in the file (no rotation applied); ``index`` counts frames
    from 0 in presentation order; ``pts`` and ``duration`` are in ``time_base`` units (``duration`` is None
    when the container does not say).
    """

    image: np.ndarray
    index: int
    pts: int
    time_base: Fraction
    key_frame: bool
    duration: int | None = None

    @property
    def time(self) -> float:
        """Presentation time in seconds."""
        return float(self.pts * self.time_base)


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What a :class:`~stngan.media.VideoWriter` needs to reproduce a source video's stream layout.

    ``path`` is the source file (its audio is copied from there; None means no audio to copy);
    ``display_matrix`` is FFmpeg's 3x3 display matrix as 9 int32 values (16.16 / 2.30 fixed point), or None.
    ``frame_count`` and ``duration`` (seconds) are the container's claims or estimates, not counts.
    """

    path: str | None
    width: int
    height: int
    fps: Fraction
    time_base: Fraction
    codec: str
    pix_fmt: str | None
    container: str
    frame_count: int
    duration: float | None
    rotation: int = 0
    display_matrix: tuple[int, ...] | None = None
    audio_codecs: tuple[str, ...] = ()

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_codecs) and self.path is not None


def _quarter_turns(rotation: int) -> int:
    if rotation % 90:
        raise ValueError(f"only multiples of 90 degrees can be applied to pixels, got rotation {rotation}")
    return (rotation // 90) % 4


def to_display(image: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate a stored (H, W, C) frame the way a player shows it (counter-clockwise by ``rotation``).

    Pixel-exact (a view, no copy); undo with :func:`from_display`. Flips in the display matrix are ignored.
    """
    return np.rot90(image, k=_quarter_turns(rotation))


def from_display(image: np.ndarray, rotation: int) -> np.ndarray:
    """Inverse of :func:`to_display`: turn a display-oriented frame back into the stored orientation."""
    return np.rot90(image, k=-_quarter_turns(rotation))
