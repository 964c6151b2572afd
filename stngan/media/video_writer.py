"""Atomic video writing that keeps the source's timestamps, orientation and audio.

Modes and containers (chosen from the output suffix; ``codec`` overrides the default):

=========  =====================  ====================================================================
mode       container              video
=========  =====================  ====================================================================
lossless   .mkv                   FFV1 level 3, bgr0 (default) or libx264rgb qp 0: RGB is bit-exact
lossless   .mp4 / .m4v / .mov     libx264rgb qp 0 (H.264 High 4:4:4 RGB, preset ultrafast): bit-exact,
                                  fewer players
lossy      any of the above       libx264 yuv420p, CRF ``crf`` (default 18, visually near-transparent)
=========  =====================  ====================================================================

* Size: lossless keeps the exact size. yuv420p needs even dimensions, so the lossy path pads odd sizes by
  one row/column replicating the edge (bottom/right); the output is then 1 px larger, nothing is cut off.
* Colour (lossy): RGB is converted with BT.709 limited range and the stream is tagged so, which is how
  :class:`~stngan.media.VideoReader` and players convert it back.
* Timing: each frame keeps the pts it is given, in the source's time base, so frame count, variable frame
  rate and timestamps survive. Matroska stores milliseconds, so timestamps from a finer clock (e.g. MP4's
  1/12800) are rounded to 1 ms in .mkv; MP4/MOV keep them exactly. Negative timestamps (AAC priming) are
  kept rather than shifting the whole file.
* Audio: every audio stream of the source is remuxed unchanged (see :mod:`stngan.media.audio_copy`).
  Subtitles, data streams and container metadata (which may hold e.g. GPS position) are not copied; the
  display matrix (rotation) is.
* Atomicity: output goes to a hidden temporary file next to ``path`` and is renamed over ``path`` by a
  successful :meth:`VideoWriter.close`; leaving the ``with`` block by an exception, :meth:`abort`, or
  any error during writing deletes it, so a partial video never appears under the final name (a file
  already at ``path`` is replaced only on success and left alone otherwise).
"""
from __future__ import annotations

import os
import uuid
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Literal

import av
import numpy as np

from stngan.media.audio_copy import AudioCopier
from stngan.media.errors import MediaError, media_errors
from stngan.media.info import Frame, VideoInfo
from stngan.media.video_reader import VideoReader

Mode = Literal["lossless", "lossy"]


def _muxer(path: Path) -> str:
    formats = {".mkv": "matroska", ".mp4": "mp4", ".m4v": "mp4", ".mov": "mov"}
    if path.suffix.lower() not in formats:
        raise MediaError(path, f"unsupported output container {path.suffix!r}; use .mkv, .mp4, .m4v or .mov")
    return formats[path.suffix.lower()]


def _codec(path: Path, muxer: str, mode: Mode, codec: str | None) -> str:
    allowed = {"lossless": ("ffv1", "libx264rgb"), "lossy": ("libx264",)}
    if mode not in allowed:
        raise ValueError(f"mode must be 'lossless' or 'lossy', got {mode!r}")
    codec = codec or ("ffv1" if mode == "lossless" and muxer == "matroska" else allowed[mode][-1])
    if codec not in allowed[mode]:
        raise ValueError(f"codec {codec!r} is not a {mode} codec; choose from {allowed[mode]}")
    if codec == "ffv1" and muxer != "matroska":
        raise MediaError(path, "FFV1 is written only to .mkv; use .mkv or codec='libx264rgb'")
    return codec


class VideoWriter:
    """Encode RGB frames into ``path`` with the layout of a source video (``like``).

    ``like`` is an open :class:`VideoReader` or its :attr:`VideoReader.info`; its time base, frame rate,
    size, display matrix and (if ``copy_audio``) audio streams are reproduced. ``crf`` applies to lossy
    x264; ``preset`` to both x264 codecs and trades speed for size (and, lossy, a little quality). Its
    default is "veryfast" for lossy (720p at CRF 18: a third of medium's encode time, 0.5 dB PSNR lower, a
    file 7 % smaller; benchmarks/bench_onepass.py) and "ultrafast" for lossless x264rgb, where slower presets
    cost 3-10x the time for 5-15 % smaller files (see benchmarks/bench_media.py)::

        with VideoReader(src) as reader, VideoWriter(dst, reader, mode="lossless") as writer:
            for frame in reader:
                writer.write(process(frame.image), frame)  # keeps frame.pts and frame.duration
    """

    def __init__(self, path: str | os.PathLike, like: VideoReader | VideoInfo, mode: Mode = "lossless", *,
                 crf: int = 18, preset: str | None = None, codec: str | None = None,
                 copy_audio: bool = True) -> None:
        self.path = Path(path)
        self.info = like.info if isinstance(like, VideoReader) else like
        self.mode = mode
        muxer = _muxer(self.path)
        self.codec = _codec(self.path, muxer, mode, codec)
        if muxer == "mp4" and copy_audio and any(c.startswith("pcm_") for c in self.info.audio_codecs):
            # FFmpeg accepts the header and only fails when writing the trailer, after all the encoding.
            raise MediaError(self.path, f"PCM audio ({', '.join(self.info.audio_codecs)}) cannot be copied "
                                        "into .mp4; write .mkv or .mov")
        self._padded = (self.info.width + self.info.width % 2, self.info.height + self.info.height % 2)
        self._tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:12]}.partial")
        self._audio: AudioCopier | None = None
        self._last_pts: int | None = None
        self._durations: dict[int, int] = {}  # pts -> duration of frames inside the encoder
        self._step = max(1, round(1 / (self.info.fps * self.info.time_base)))
        self.frames_written = 0
        self._done = False
        with media_errors(self.path, "cannot create output"):
            # avoid_negative_ts=disabled: Matroska would otherwise shift every timestamp to make AAC's
            # negative priming timestamps non-negative.
            self._out = av.open(str(self._tmp), "w", format=muxer,
                                container_options={"avoid_negative_ts": "disabled"})
        try:
            self._stream = self._add_video_stream(crf, preset)
            if copy_audio and self.info.has_audio:
                self._audio = AudioCopier(self.info.path, self._out)
            with media_errors(self.path, f"cannot start a {muxer} file with these streams "
                                         f"(video {self.codec}, audio {list(self.info.audio_codecs)})"):
                self._out.start_encoding()
        except BaseException:
            self.abort()
            raise

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the encoded video: the source's, or padded to even in lossy mode."""
        return self._padded if self.mode == "lossy" else (self.info.width, self.info.height)

    @property
    def audio_packets_copied(self) -> int:
        """Source audio packets muxed so far (they follow the video time, not all at once)."""
        return self._audio.packets_copied if self._audio is not None else 0

    @property
    def time_base(self) -> Fraction:
        """Unit of the ``pts``/``duration`` passed to :meth:`write` (the source's time base)."""
        return self.info.time_base

    def _add_video_stream(self, crf: int, preset: str | None) -> av.video.stream.VideoStream:
        options = {"ffv1": {"level": "3", "slicecrc": "1"},
                   "libx264rgb": {"qp": "0", "preset": preset or "ultrafast"},
                   "libx264": {"crf": str(crf), "preset": preset or "veryfast"}}[self.codec]
        stream = self._out.add_stream(self.codec, rate=self.info.fps, options=options)
        stream.width, stream.height = self.size
        stream.pix_fmt = {"ffv1": "bgr0", "libx264rgb": "rgb24", "libx264": "yuv420p"}[self.codec]
        stream.thread_type = "AUTO"
        stream.codec_context.time_base = self.info.time_base
        stream.time_base = self.info.time_base
        if self.codec == "libx264":
            cc = stream.codec_context
            cc.colorspace = cc.color_primaries = cc.color_trc = 1  # BT.709
            cc.color_range = 1  # limited ("MPEG")
        if self.info.display_matrix is not None:
            stream.set_display_matrix(self.info.display_matrix)
        elif self.info.rotation:
            stream.set_display_rotation(self.info.rotation)
        return stream

    def _video_frame(self, image: np.ndarray) -> av.VideoFrame:
        """RGB image -> frame in the encoder's pixel format (converted here so that pts/duration survive)."""
        if self.codec == "libx264rgb":
            return av.VideoFrame.from_ndarray(image, format="rgb24")
        if self.codec == "ffv1":
            return av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="bgr0")
        width, height = self._padded
        if (width, height) != (self.info.width, self.info.height):
            image = np.pad(image, ((0, height - self.info.height), (0, width - self.info.width), (0, 0)),
                           mode="edge")
        return av.VideoFrame.from_ndarray(image, format="rgb24").reformat(
            format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")

    def write(self, image: np.ndarray, pts: int | Frame | None = None, duration: int | None = None) -> None:
        """Encode one (H, W, 3) uint8 RGB frame of the source's size.

        ``pts`` is either the source :class:`Frame` that ``image`` replaces (its pts and duration are
        kept, rescaled if its time base differs) or a pts in :attr:`time_base` units, with ``duration``
        in the same units; None continues the previous frame at the nominal frame rate. Timestamps must
        increase strictly.
        """
        if self._done:
            raise RuntimeError("write() after close() or abort()")
        if isinstance(pts, Frame):
            pts, duration = self._rescale(pts.pts, pts.time_base), self._rescale(pts.duration, pts.time_base)
        image = np.asarray(image)
        expected = (self.info.height, self.info.width, 3)
        if image.shape != expected or image.dtype != np.uint8:
            raise MediaError(self.path, f"frame {self.frames_written} is {image.dtype} {image.shape}; "
                                        f"expected uint8 {expected}")
        if pts is None:
            pts = 0 if self._last_pts is None else self._last_pts + self._step
        if self._last_pts is not None and pts <= self._last_pts:
            raise MediaError(self.path, f"frame {self.frames_written} has pts {pts} <= previous "
                                        f"{self._last_pts}; timestamps must increase")
        frame = self._video_frame(image)
        frame.pts, frame.time_base = pts, self.info.time_base
        if duration:
            self._durations[pts] = duration
        with media_errors(self.path, f"cannot encode frame {self.frames_written}"):
            if self._audio is not None:
                self._audio.copy_until(pts * self.info.time_base)
            self._mux_video(frame)
        self._last_pts = pts
        self.frames_written += 1

    def _rescale(self, ticks: int | None, time_base: Fraction) -> int | None:
        if ticks is None or time_base == self.info.time_base:
            return ticks
        return round(ticks * time_base / self.info.time_base)

    def _mux_video(self, frame: av.VideoFrame | None) -> None:
        """Encode ``frame`` (None flushes) and mux the packets that come out, with the caller's durations.

        Encoders with a reorder delay (x264) drop frame durations, and the muxer then guesses the last
        frame's from the nominal rate; packets are matched to frames by pts instead.
        """
        for packet in self._stream.encode(frame):
            duration = self._durations.pop(packet.pts, None)
            if duration:
                packet.duration = duration
            self._out.mux(packet)

    def close(self) -> None:
        """Flush, finish the audio copy and move the file into place. Idempotent."""
        if self._done:
            return
        try:
            if not self.frames_written:
                raise MediaError(self.path, "no frames were written; refusing to create an empty video")
            with media_errors(self.path, "cannot finish the video"):
                self._mux_video(None)
                if self._audio is not None:
                    self._audio.copy_until(None)
                    self._audio.close()
                self._out.close()
                os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        self._done = True

    def abort(self) -> None:
        """Discard everything written so far: the temporary file is deleted; ``path`` is left untouched."""
        self._done = True
        for closable in (self._audio, getattr(self, "_out", None)):
            if closable is not None:
                try:
                    closable.close()
                except (av.FFmpegError, OSError):
                    pass  # the output is being thrown away; its trailer cannot matter
        self._tmp.unlink(missing_ok=True)

    def __del__(self) -> None:
        # A writer dropped without close() or abort() must not leave its temporary file behind.
        if not getattr(self, "_done", True):
            self.abort()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
