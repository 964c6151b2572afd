"""Decode video frames with PyAV as (H, W, 3) uint8 RGB, whatever the container gives.

Frames come in presentation order and are numbered 0, 1, 2, ... regardless of timestamps, so
variable-frame-rate files need no special care; a packet that cannot be decoded still takes its number. Odd sizes are handled by libswscale. Frames with alpha
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
MAX_BAD_PACKETS = 25  # consecutive undecodable packets after which a file is given up


def frame_to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """One decoded frame -> (H, W, 3) uint8 RGB, alpha composited on black, display rotation applied."""
    fmt = frame.format
    if fmt.has_palette or any(c.is_alpha for c in fmt.components):
        img = to_rgb_uint8(frame.to_ndarray(format="rgba"))
    else:
        img = frame.to_ndarray(format="rgb24")
    quarter_turns = round((frame.rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(img, quarter_turns)) if quarter_turns else img


def iter_frames(path: Path, max_frames: int = 0, errors: list[str] | None = None
                ) -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, frame) of the first video stream of ``path``, at most ``max_frames`` indices when > 0.

    A packet that fails to decode costs one frame index (a gap, so no window spans it): with ``errors``
    given, its error is appended there and decoding goes on (after MAX_BAD_PACKETS in a row it stops);
    without, it is raised. Failing to open or demux the file raises one of DECODE_ERRORS; frames already
    yielded stay valid.
    """
    with av.open(str(path), mode="r") as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]  # default slice threading: frame threading would reorder errors
        index, bad_in_a_row = 0, 0
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
                bad_in_a_row = 0
            except av.FFmpegError as e:
                if errors is None or bad_in_a_row >= MAX_BAD_PACKETS:
                    raise
                errors.append(f"frame {index}: {' '.join(str(e).split())}")
                frames, bad_in_a_row, index = [], bad_in_a_row + 1, index + 1
            for frame in frames:
                if max_frames and index >= max_frames:
                    return
                yield index, frame_to_rgb(frame)
                index += 1
            if max_frames and index >= max_frames:
                return
