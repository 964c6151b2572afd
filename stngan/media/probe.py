"""A JSON-friendly summary of a media file for reports and error messages."""
from __future__ import annotations

import os
from typing import Any

import av

from stngan.media.errors import MediaError, media_errors
from stngan.media.video_reader import VideoReader


def _stream_summary(stream: av.stream.Stream) -> dict[str, Any]:
    cc = stream.codec_context
    summary: dict[str, Any] = {"index": stream.index, "type": stream.type, "codec": cc.name if cc else None}
    if stream.type == "audio" and cc is not None:
        summary.update(sample_rate=cc.sample_rate, channels=cc.channels)
    if stream.metadata.get("language"):
        summary["language"] = stream.metadata["language"]
    return summary


def probe(path: str | os.PathLike) -> dict[str, Any]:
    """Describe ``path`` without decoding more than its first video frame.

    Returns ``{"path", "container", "size_bytes", "duration", "bit_rate", "streams": [...], "video",
    "error"}``. ``video`` holds width, height, codec, pix_fmt, fps (float), time_base (str), frame_count,
    frame_count_exact (False: an estimate), duration (s), rotation, is_vfr and has_audio, or is None when
    :class:`VideoReader` rejects the file, whose reason is then in ``error`` (e.g. audio-only files).
    Raises :class:`MediaError` only when the file cannot be opened at all.
    """
    path = os.fspath(path)
    with media_errors(path, "cannot open"), av.open(path) as container:
        summary: dict[str, Any] = {
            "path": path,
            "container": container.format.name,
            "size_bytes": os.path.getsize(path) if os.path.isfile(path) else None,
            "duration": container.duration / av.time_base if container.duration else None,
            "bit_rate": container.bit_rate or None,
            "streams": [_stream_summary(s) for s in container.streams],
            "video": None,
            "error": None,
        }
    try:
        with VideoReader(path) as reader:
            summary["video"] = {
                "width": reader.width, "height": reader.height, "codec": reader.codec,
                "pix_fmt": reader.pix_fmt, "fps": float(reader.fps), "time_base": str(reader.time_base),
                "frame_count": reader.frame_count, "frame_count_exact": reader.frame_count_exact,
                "duration": reader.duration,
                "rotation": reader.rotation, "is_vfr": reader.is_vfr, "has_audio": reader.has_audio,
            }
    except MediaError as error:
        summary["error"] = error.reason
    return summary


def summary_line(summary: dict[str, Any]) -> str:
    """One line from a :func:`probe` result, e.g. "clip.mp4: mov,mp4 h264 1280x720 25.00 fps ..."."""
    parts = [f"{summary['path']}: {summary['container']}"]
    video = summary["video"]
    if video:
        parts.append(f"{video['codec']} {video['width']}x{video['height']} {video['fps']:.2f} fps"
                     f"{' (VFR)' if video['is_vfr'] else ''} {'' if video['frame_count_exact'] else '~'}"
                     f"{video['frame_count']} frames")
        if video["rotation"]:
            parts.append(f"rotation {video['rotation']}")
    if summary["duration"]:
        parts.append(f"{summary['duration']:.2f} s")
    audio = [s["codec"] for s in summary["streams"] if s["type"] == "audio"]
    parts.append(f"audio {'+'.join(audio)}" if audio else "no audio")
    if summary["error"]:
        parts.append(f"unreadable: {summary['error']}")
    return ", ".join(parts)
