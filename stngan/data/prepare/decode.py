"""Decode video frames with PyAV as (H, W, 3) uint8 RGB, whatever the container gives.

Frames come in decode (presentation) order and are numbered 0, 1, 2, ... regardless of timestamps, so
variable-frame-rate files need no special care. Odd sizes are handled by libswscale. Frames with alpha
(GIF, PNG/ProRes 4444 video) are composited on black like still images (stngan.faces.image_io rules), and a
display-matrix rotation (phone videos) is applied so faces are upright.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from stngan.faces.image_io import to_rgb_uint8

# What PyAV/FFmpeg raise for unreadable or damaged media; UnicodeDecodeError: undecodable metadata.
DECODE_ERRORS = (av.FFmpegError, OSError, ValueError, IndexError, EOFError, UnicodeDecodeError)


def frame_to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """One decoded frame -> (H, W, 3) uint8 RGB, alpha composited on black, display rotation applied."""
    fmt = frame.format
    if fmt.has_palette or any(c.is_alpha for c in fmt.components):
        img = to_rgb_uint8(frame.to_ndarray(format="rgba"))
    else:
        img = frame.to_ndarray(format="rgb24")
    quarter_turns = round((frame.rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(img, quarter_turns)) if quarter_turns else img


def iter_frames(path: Path, max_frames: int = 0) -> Iterator[np.ndarray]:
    """Frames of the first video stream of ``path`` (at most ``max_frames`` when > 0).

    Raises one of DECODE_ERRORS when the file cannot be opened or decoding fails part-way; frames already
    yielded stay valid.
    """
    with av.open(str(path), mode="r") as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for n, frame in enumerate(container.decode(stream)):
            if max_frames and n >= max_frames:
                return
            yield frame_to_rgb(frame)
