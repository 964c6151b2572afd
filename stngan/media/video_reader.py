"""Streaming video decoding to (H, W, 3) uint8 RGB frames with timestamps, orientation and truncation checks.

Behaviour worth knowing:

* Frames come as stored: no rotation is applied. ``rotation``/``display_matrix`` describe how a player
  would turn them; :class:`~stngan.media.VideoWriter` copies that metadata so output plays like the input
  (use :func:`~stngan.media.to_display` when a step needs upright pixels).
* YUV is converted to RGB with the matrix and range the stream declares; an undeclared matrix is taken
  as BT.709 from 720 lines up and BT.601 below (what common players assume). RGB streams (FFV1, x264rgb,
  PNG) convert without any change of values.
* Alpha (RGBA PNG sequences, GIF transparency) is composited on black, the rule of
  :mod:`stngan.faces.image_io`, so a fully transparent pixel becomes (0, 0, 0).
* Memory stays bounded: one demuxed packet and the decoder's own reorder/thread queue are held, never a
  list of frames. The first frame is decoded when the reader opens (to fail early and read orientation).
* A file that ends early yields every frame that decodes and then raises :class:`MediaError`
  ("truncated ... after N frames"), so callers never write partial output silently. "Ends early" means a
  decode/demux error, fewer packets than the container's frame count (MP4/MOV/AVI), or packets ending
  more than one frame interval before the end the container declares (MP4/MOV track duration, Matroska
  DURATION tag). Files that declare neither (raw streams, MPEG-TS, some WebM) are caught only by decode
  errors. An MP4 cut before its index (moov at the end) cannot be opened at all.
"""
from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from fractions import Fraction
from functools import cached_property
from types import TracebackType

import av
import numpy as np

from stngan.media.errors import MediaError, describe, media_errors
from stngan.media.info import Frame, VideoInfo

_UNSPECIFIED = 2  # AVCOL_SPC_UNSPECIFIED


def composite_on_black(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 RGBA -> (H, W, 3) uint8 RGB * alpha / 255, rounded."""
    a = rgba[..., 3:].astype(np.uint32)
    return ((rgba[..., :3].astype(np.uint32) * a + 127) // 255).astype(np.uint8)


def frame_to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """Decoded PyAV frame -> (H, W, 3) uint8 RGB (see the module notes for colour and alpha rules)."""
    fmt = frame.format
    if fmt.has_palette or any(c.is_alpha for c in fmt.components):
        return composite_on_black(frame.to_ndarray(format="rgba"))
    if fmt.is_rgb:
        rgb = frame.to_ndarray(format="rgb24")
    else:
        colorspace = frame.colorspace
        if colorspace == _UNSPECIFIED:
            colorspace = "ITU709" if frame.height >= 720 else "ITU601"
        rgb = frame.to_ndarray(format="rgb24", src_colorspace=colorspace, src_color_range=frame.color_range)
    # PyAV returns a view of FFmpeg's buffer, strided when rows are padded; callers get their own array.
    return np.array(rgb, order="C", copy=True)


def _display_matrix(frame: av.VideoFrame) -> tuple[int, ...] | None:
    wanted = av.sidedata.sidedata.Type.DISPLAYMATRIX
    for entry in frame.side_data:
        # PyAV < 18 iterates over the side data; PyAV 18 over their types (a mapping type -> side data)
        side_data = frame.side_data.get(entry) if isinstance(entry, type(wanted)) else entry
        if side_data is not None and side_data.type == wanted:
            return tuple(int(v) for v in np.frombuffer(memoryview(side_data), dtype=np.int32))
    return None


def _parse_hms(text: str | None) -> float | None:
    """Matroska's per-track DURATION tag, "HH:MM:SS.nnnnnnnnn", in seconds."""
    try:
        h, m, s = (text or "").split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)
    except ValueError:
        return None


def _is_cover_art(stream: av.stream.Stream) -> bool:
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


class VideoReader:
    """Decode the first video stream of ``path`` frame by frame.

    Use as a context manager and iterate once::

        with VideoReader("in.mp4") as reader:
            for frame in reader:        # Frame: image (H, W, 3) uint8 RGB, index, pts, time_base, time
                ...

    Anything FFmpeg can demux and decode works, including image sequences given as a pattern
    ("frames_%04d.png") and animated GIF. Unreadable, corrupt or truncated files, files without a video
    stream or without frames, and codecs without a decoder raise :class:`MediaError` (a ValueError) with a
    one-line message naming the file.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        with media_errors(self.path, "cannot open"):
            try:
                self._container = av.open(self.path)
            except av.InvalidDataError as error:
                raise MediaError(self.path, "cannot open: not a readable media file (corrupt, truncated, "
                                            "e.g. an MP4 cut before its index, or an unknown format)") from error
        try:
            self._stream = self._video_stream()
            self._stream.thread_type = "AUTO"
            self._raw = self._decode()
            with media_errors(self.path, "cannot decode"):
                first = next(self._raw, None)
            if first is None:
                raise MediaError(self.path, "the video stream has zero frames")
            self._first: av.VideoFrame | None = first
            self.display_matrix = _display_matrix(first)
            self.rotation = self._rotation(first)
        except BaseException:
            self._container.close()
            raise
        self._started = False
        self._frames_read = 0

    def _video_stream(self) -> av.video.stream.VideoStream:
        streams = [s for s in self._container.streams.video if not _is_cover_art(s)]
        if not streams:
            kinds = ", ".join(s.type for s in self._container.streams) or "nothing"
            raise MediaError(self.path, f"no video stream (the file contains: {kinds})")
        if streams[0].codec_context is None:
            raise MediaError(self.path, "unsupported video codec: this FFmpeg build has no decoder for it")
        return streams[0]

    def _rotation(self, first: av.VideoFrame) -> int:
        """Counter-clockwise display rotation in (-180, 180]."""
        if self.display_matrix is not None:
            degrees = first.rotation
        else:
            try:  # legacy tag, clockwise degrees
                degrees = -round(float(self._stream.metadata.get("rotate", 0)))
            except ValueError:
                degrees = 0
        degrees %= 360
        return degrees - 360 if degrees > 180 else degrees

    # ---- stream properties -------------------------------------------------------------------------------

    @property
    def width(self) -> int:
        return self._stream.codec_context.width

    @property
    def height(self) -> int:
        return self._stream.codec_context.height

    @property
    def time_base(self) -> Fraction:
        return self._stream.time_base

    @property
    def codec(self) -> str:
        """Decoder name, e.g. "h264", "mpeg4", "ffv1", "gif", "png"."""
        return self._stream.codec_context.name

    @property
    def container_format(self) -> str:
        return self._container.format.name

    @cached_property
    def fps(self) -> Fraction:
        """Average frame rate (frames / second); guessed from timing when the container does not say."""
        for rate in (self._stream.average_rate, self._stream.guessed_rate):
            if rate:
                return Fraction(rate)
        if self.duration and self._stream.frames:
            return Fraction(self._stream.frames) / Fraction(self.duration).limit_denominator(1_000_000)
        return Fraction(25)

    @cached_property
    def duration(self) -> float | None:
        """Video duration in seconds: as the container declares it, else FFmpeg's estimate, else None."""
        declared = self._declared_span()
        if declared is not None:
            return declared[1] - declared[0]
        if self._container.duration:
            return self._container.duration / av.time_base
        s = self._stream
        return float(s.duration * s.time_base) if s.duration is not None else None

    def _declared_span(self) -> tuple[float, float] | None:
        """(start, end) seconds of the video stream as stored in the file, or None when only estimable.

        Only MP4/MOV track durations and Matroska's DURATION tag are used: for other formats (and for
        Matroska streams) FFmpeg fills ``stream.duration`` from bit-rate guesses that can be far off.
        """
        s = self._stream
        tagged = _parse_hms(s.metadata.get("DURATION"))
        if tagged is not None:
            return 0.0, tagged
        if self.container_format.startswith("mov") and s.duration is not None:
            start = float((s.start_time or 0) * s.time_base)
            return start, start + float(s.duration * s.time_base)
        return None

    @cached_property
    def frame_count(self) -> int:
        """Number of frames iteration yields if the file is intact: exact when :attr:`frame_count_exact`.

        That is the container's count (MP4/MOV/AVI/GIF) less the samples an MP4 edit list discards;
        otherwise (Matroska, WebM, MPEG-TS, image sequences) an estimate, duration x fps rounded.
        """
        s = self._stream
        if not s.frames:
            return round(self.duration * self.fps) if self.duration else 0
        entries = s.index_entries
        if len(entries) == s.frames:
            return sum(not e.is_discard for e in entries)
        return s.frames

    @property
    def frame_count_exact(self) -> bool:
        """Whether :attr:`frame_count` comes from the container's own count rather than an estimate."""
        return bool(self._stream.frames)

    @property
    def has_audio(self) -> bool:
        return len(self._container.streams.audio) > 0

    @cached_property
    def is_vfr(self) -> bool:
        """True when the first 120 frames' timestamp steps differ by more than one tick (rounding)."""
        return timestamps_irregular(self.path, self._stream.index)

    @property
    def pix_fmt(self) -> str | None:
        return self._stream.codec_context.pix_fmt

    @property
    def info(self) -> VideoInfo:
        """Stream layout for :class:`~stngan.media.VideoWriter` (also accepted directly as ``like``)."""
        return VideoInfo(
            path=self.path, width=self.width, height=self.height, fps=self.fps, time_base=self.time_base,
            codec=self.codec, pix_fmt=self.pix_fmt, container=self.container_format,
            frame_count=self.frame_count, duration=self.duration, rotation=self.rotation,
            display_matrix=self.display_matrix,
            audio_codecs=tuple(s.codec_context.name if s.codec_context else "unknown"
                               for s in self._container.streams.audio),
        )

    # ---- decoding ----------------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Frame]:
        if self._started:
            raise RuntimeError("a VideoReader can be iterated only once; open the file again")
        self._started = True
        return self._frames()

    def _frames(self) -> Iterator[Frame]:
        first, self._first = self._first, None
        step = max(1, round(1 / (self.fps * self.time_base)))
        pts = None
        for index, raw in enumerate(itertools.chain([first], self._raw)):
            # Streams without timestamps (raw elementary streams) get a regular clock from the frame rate.
            pts = raw.pts if raw.pts is not None else (0 if pts is None else pts + step)
            self._frames_read = index + 1
            yield Frame(image=frame_to_rgb(raw), index=index, pts=pts, time_base=self.time_base,
                        key_frame=bool(raw.key_frame), duration=raw.duration or None)

    def _decode(self) -> Iterator[av.VideoFrame]:
        """Raw frames in presentation order; raises MediaError after the last good one if the file is cut."""
        packets, end, decoded = 0, None, 0
        try:
            for packet in self._container.demux(self._stream):
                if packet.size:
                    packets += 1
                    if packet.pts is not None:
                        stop = packet.pts + (packet.duration or 0)
                        end = stop if end is None else max(end, stop)
                for raw in packet.decode():
                    decoded += 1
                    yield raw
        except (av.FFmpegError, EOFError) as error:
            raise MediaError(self.path, f"truncated or corrupt: decoding failed after {decoded} frames "
                                        f"({describe(error)})") from error
        shortfall = self._shortfall(packets, end)
        if shortfall:
            raise MediaError(self.path, f"truncated after {decoded} frames: {shortfall}")

    def _shortfall(self, packets: int, end: int | None) -> str | None:
        """Why the demuxed packets look like less than the container announced, or None if they do not."""
        s = self._stream
        if s.frames and packets < s.frames:
            return f"the container lists {s.frames} frames but only {packets} are present"
        declared = self._declared_span()
        if end is None or declared is None:
            return None
        found = float(end * s.time_base)
        if found < declared[1] - float(1 / self.fps) - 1e-3:
            return f"the stream ends at {found:.3f} s but the container says {declared[1]:.3f} s"
        return None

    # ---- lifetime ----------------------------------------------------------------------------------------

    @property
    def frames_read(self) -> int:
        """Frames yielded so far."""
        return self._frames_read

    def close(self) -> None:
        self._raw.close()
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"VideoReader({self.path!r}, {self.codec} {self.width}x{self.height} @ {float(self.fps):.3f} "
                f"fps, ~{self.frame_count} frames, rotation {self.rotation})")


def timestamps_irregular(path: str | os.PathLike, stream_index: int, frames: int = 120) -> bool:
    """Whether the first ``frames`` packet timestamps of a stream step unevenly (variable frame rate).

    Demuxes only (no decoding) in a separate handle. Steps that differ by a single tick count as regular:
    that is rounding, e.g. 30 fps in Matroska's millisecond clock gives 33, 33, 34.
    """
    with media_errors(path, "cannot read timestamps"), av.open(os.fspath(path)) as container:
        stream = container.streams[stream_index]
        stamps = sorted(itertools.islice(
            (p.pts for p in container.demux(stream) if p.size and p.pts is not None), frames))
    steps = np.diff(stamps)
    return bool(steps.size) and int(steps.max() - steps.min()) > 1
