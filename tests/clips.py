"""Synthetic but realistic test clips (imported by the media, app and training tests; checked in test_media_clips.py).

Pictures are skimage's astronaut panned a few pixels per frame (real texture, real motion); audio is a
chirp plus noise. Everything is written with PyAV in well under a second per clip.
"""
from __future__ import annotations

import functools
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from skimage import data as skdata


@functools.cache
def _photo() -> np.ndarray:
    return np.tile(skdata.astronaut(), (2, 2, 1))  # 1024x1024, big enough for any test size


def moving_frames(width: int, height: int, count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` (height, width, 3) uint8 RGB crops of the astronaut photo panning right and down."""
    photo = _photo()
    rng = np.random.default_rng(seed)
    top, left = rng.integers(0, 64, size=2)
    frames = []
    for i in range(count):
        y, x = top + 3 * i, left + 5 * i
        frames.append(np.ascontiguousarray(photo[y % 200:y % 200 + height, x % 200:x % 200 + width]))
    return frames


def _encode_audio(container: av.container.OutputContainer, stream: av.audio.stream.AudioStream,
                  seconds: float, chunk: int = 1024) -> None:
    rate = stream.codec_context.sample_rate
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * (220 + 200 * t) * t) + 0.02 * np.random.default_rng(1).standard_normal(t.size)
    stereo = np.stack([wave, -wave])  # (2, samples)
    if stream.codec_context.name == "aac":  # planar float: one row per channel
        data, fmt, per_sample = stereo.astype(np.float32), "fltp", 1
    else:  # packed s16: one row of interleaved samples
        data, fmt, per_sample = (stereo.T.reshape(1, -1) * 32767).astype(np.int16), "s16", 2
    for start in range(0, t.size, chunk):
        part = data[:, start * per_sample:(start + chunk) * per_sample]
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(part), format=fmt, layout="stereo")
        frame.sample_rate, frame.pts = rate, start
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def make_clip(path: Path, frames: list[np.ndarray] | None = None, *, size: tuple[int, int] = (96, 64),
              count: int = 24, codec: str = "libx264", fps: int = 25, pts: list[int] | None = None,
              time_base: Fraction | None = None, audio: str | None = None, rotation: int | None = None,
              options: dict[str, str] | None = None, container_options: dict[str, str] | None = None
              ) -> list[np.ndarray]:
    """Write a clip and return the RGB frames that went into it.

    ``codec`` picks the pixel format (ffv1: bgr0, libx264rgb: rgb24, others: yuv420p); ``pts`` (in
    ``time_base``, default 1/fps) makes irregular timing; ``audio`` is "aac", "pcm_s16le" or None.
    """
    frames = frames if frames is not None else moving_frames(*size, count)
    height, width = frames[0].shape[:2]
    pix_fmt = {"ffv1": "bgr0", "libx264rgb": "rgb24"}.get(codec, "yuv420p")
    time_base = time_base or Fraction(1, fps)
    pts = pts if pts is not None else [round(i / (fps * time_base)) for i in range(len(frames))]
    with av.open(str(path), "w", container_options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=fps, options=options or {})
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.codec_context.time_base = time_base
        if rotation is not None:
            stream.set_display_rotation(rotation)
        sound = container.add_stream(audio, rate=48000, layout="stereo") if audio else None
        for image, stamp in zip(frames, pts):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = stamp, time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
        if sound is not None:
            _encode_audio(container, sound, float((pts[-1] + 1) * time_base) + 0.1)
    return frames


def video_timestamps(path: Path) -> list[Fraction]:
    """Presentation times (exact Fractions of a second) of the decodable video frames, in order."""
    with av.open(str(path)) as container:
        return [frame.pts * frame.time_base for frame in container.decode(video=0)]


def audio_packets(path: Path, stream: int = 0) -> list[tuple[Fraction, bytes]]:
    """(pts in seconds, payload) of every audio packet of a file, in file order."""
    with av.open(str(path)) as container:
        return [(p.pts * p.time_base, bytes(p)) for p in container.demux(audio=stream) if p.size]
