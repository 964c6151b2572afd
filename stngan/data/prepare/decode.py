"""Decode the frames of a dataset video as (H, W, 3) uint8 RGB, upright, tolerating damaged packets.

Pixels come from :func:`stngan.media.video_reader.frame_to_rgb`, the conversion ``inpaint`` and
``anonymize`` use (colour matrix and range as the stream declares, BT.709 from 720 lines up and BT.601 below
when it does not; alpha composited on black), so a training crop and an inference crop of the same video
have the same colours. A display-matrix rotation (phone videos) is applied so faces are upright.
What differs from :class:`stngan.media.VideoReader`: frames are numbered 0, 1, 2, ... in presentation order
regardless of timestamps, and a packet that cannot be decoded costs one number instead of ending the file
(a dataset keeps the rest of a damaged video; an output never skips a frame).
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from stngan.errors import InputError
from stngan.media.info import to_display
from stngan.media.video_reader import frame_to_rgb

# What PyAV/FFmpeg raise for unreadable or damaged media; UnicodeDecodeError: undecodable metadata.
DECODE_ERRORS = (av.FFmpegError, OSError, ValueError, IndexError, EOFError, UnicodeDecodeError)
MAX_BAD_PACKETS = 25  # consecutive undecodable packets after which a file is given up


def upright_rgb(frame: av.VideoFrame) -> np.ndarray:
    """One decoded frame -> (H, W, 3) uint8 RGB (the media conversion), turned as a player shows it."""
    return np.ascontiguousarray(to_display(frame_to_rgb(frame), round(frame.rotation or 0)))


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
            raise InputError("no video stream")
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
                yield index, upright_rgb(frame)
                index += 1
            if max_frames and index >= max_frames:
                return
