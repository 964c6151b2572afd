"""Re-encode one inpainted video into a browser-playable MP4: H.264 yuv420p, even size, faststart.

Frames are re-timed to a constant rate starting at 0 (``pts = index`` in a 1/fps time base) so that the
videos of one clip share one timeline and ``currentTime`` means the same frame in each of them. Audio is
dropped: the study page plays muted (autoplay policy) and every method shares the source audio anyway.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from stngan.media import MediaError, VideoReader, VideoWriter
from stngan.media.errors import media_errors


@dataclass(frozen=True)
class SourceInfo:
    """What must agree between the methods' videos of one clip (checked before transcoding)."""

    path: Path
    frame_count: int
    frame_count_exact: bool
    fps: Fraction
    width: int
    height: int


def inspect(path: Path) -> SourceInfo:
    with VideoReader(path) as reader:
        return SourceInfo(path=path, frame_count=reader.frame_count, frame_count_exact=reader.frame_count_exact,
                          fps=reader.fps, width=reader.width, height=reader.height)


def transcode(src: Path, dst: Path, *, crf: int = 18, preset: str = "medium") -> int:
    """Write ``dst`` (.mp4) from ``src``; returns the number of frames decoded and written."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    encoded = dst.with_name(f".{dst.stem}.encoded.mp4")
    try:
        with VideoReader(src) as reader:
            info = dataclasses.replace(reader.info, path=None, audio_codecs=(), time_base=1 / reader.fps)
            with VideoWriter(encoded, info, mode="lossy", crf=crf, preset=preset, copy_audio=False) as writer:
                for frame in reader:
                    writer.write(frame.image, pts=frame.index, duration=1)
                frames = writer.frames_written
        faststart_remux(encoded, dst)
    finally:
        encoded.unlink(missing_ok=True)
    return frames


def faststart_remux(src: Path, dst: Path) -> None:
    """Copy the video packets of ``src`` into ``dst`` with the index (moov) first, atomically.

    With the index at the front a browser can start playing and seeking after the first range request
    instead of fetching the end of the file first.
    """
    tmp = dst.with_name(f".{dst.name}.partial")
    try:
        with media_errors(dst, "cannot remux for faststart"):
            with av.open(str(src)) as source, \
                    av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
                stream_in = source.streams.video[0]
                stream_out = out.add_stream_from_template(stream_in)
                for packet in source.demux(stream_in):
                    if packet.dts is None:  # the demuxer's end-of-stream marker
                        continue
                    packet.stream = stream_out
                    out.mux(packet)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


__all__ = ["MediaError", "SourceInfo", "faststart_remux", "inspect", "transcode"]
