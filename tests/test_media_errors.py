"""Broken inputs: every failure is a one-line MediaError naming the file, and no partial output survives."""
from __future__ import annotations

import os
import pickle

import av
import numpy as np
import pytest
from clips import make_clip

from stngan.media import MediaError, VideoReader, VideoWriter, probe


def _read_all(path) -> int:
    with VideoReader(path) as reader:
        return sum(1 for _ in reader)


def _check(error: MediaError, path) -> None:
    text = str(error)
    assert isinstance(error, ValueError) and "\n" not in text and text.startswith(str(path))


def _cut(path, fraction: float = 0.5):
    data = path.read_bytes()
    cut = path.with_name(f"cut_{path.name}")
    cut.write_bytes(data[: int(len(data) * fraction)])
    return cut


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.mp4"
    path.write_bytes(os.urandom(20000))
    with pytest.raises(MediaError, match="cannot open") as info:
        VideoReader(path)
    _check(info.value, path)


def test_missing_and_empty_files(tmp_path):
    for path in (tmp_path / "missing.mkv", tmp_path / "empty.mp4"):
        if path.name.startswith("empty"):
            path.write_bytes(b"")
        with pytest.raises(MediaError, match="cannot open") as info:
            VideoReader(path)
        _check(info.value, path)


def test_mp4_cut_before_its_index_cannot_open(tmp_path):
    path = tmp_path / "clip.mp4"
    make_clip(path, count=20, audio="aac")
    with pytest.raises(MediaError, match="truncated") as info:
        VideoReader(_cut(path))
    _check(info.value, tmp_path / "cut_clip.mp4")


@pytest.mark.parametrize("name,codec,options", [
    ("clip.mkv", "ffv1", {}),
    ("clip.mkv", "libx264", {}),
    ("fast.mp4", "libx264", {"movflags": "+faststart"}),
    ("clip.avi", "mpeg4", {}),
])
def test_truncated_file_yields_what_decodes_then_raises(tmp_path, name, codec, options):
    path = tmp_path / name
    make_clip(path, size=(160, 120), count=30, codec=codec, container_options=options)
    assert _read_all(path) == 30  # the intact file passes the same checks
    cut = _cut(path)
    frames = []
    with pytest.raises(MediaError, match=r"truncated.* after \d+ frames") as info:
        with VideoReader(cut) as reader:
            frames.extend(reader)
    assert 1 <= len(frames) < 30 and f"after {len(frames)} frames" in str(info.value)
    _check(info.value, cut)


def test_writer_leaves_no_output_when_the_source_is_truncated(tmp_path):
    path = tmp_path / "clip.mkv"
    make_clip(path, count=30, codec="ffv1", audio="pcm_s16le")
    cut, out = _cut(path), tmp_path / "out.mkv"
    with pytest.raises(MediaError, match="truncated"):
        with VideoReader(cut) as reader, VideoWriter(out, reader) as writer:
            for frame in reader:
                writer.write(frame.image, frame.pts, frame.duration)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mkv", "cut_clip.mkv"]


def test_zero_frame_file(tmp_path):
    """A video stream that never gets a packet, next to an audio stream."""
    path = tmp_path / "empty_video.mkv"
    with av.open(str(path), "w") as container:
        video = container.add_stream("ffv1", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "bgr0"
        audio = container.add_stream("pcm_s16le", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate, frame.pts = 8000, 0
        for packet in [*audio.encode(frame), *audio.encode(None)]:
            container.mux(packet)
    with pytest.raises(MediaError, match="zero frames") as info:
        VideoReader(path)
    _check(info.value, path)


def test_audio_only_file(tmp_path):
    video = tmp_path / "with_audio.mkv"
    make_clip(video, count=5, codec="ffv1", audio="aac")
    path = tmp_path / "sound.m4a"
    with av.open(str(video)) as src, av.open(str(path), "w") as dst:
        stream = dst.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux(src.streams.audio[0]):
            if packet.size:
                packet.stream = stream
                dst.mux(packet)
    with pytest.raises(MediaError, match="no video stream .*audio") as info:
        VideoReader(path)
    _check(info.value, path)
    assert probe(path)["video"] is None and "no video stream" in probe(path)["error"]


def test_unsupported_codec(tmp_path):
    path = tmp_path / "clip.mkv"
    make_clip(path, count=3, codec="ffv1")
    data = path.read_bytes()
    assert data.count(b"V_FFV1") == 1
    path.write_bytes(data.replace(b"V_FFV1", b"V_QQQQ"))  # a Matroska codec id no decoder knows
    with pytest.raises(MediaError, match="unsupported video codec") as info:
        VideoReader(path)
    _check(info.value, path)


def test_media_error_pickles_and_keeps_its_parts():
    error = MediaError("a/b.mp4", "cannot open:\n  bad\tdata")
    assert str(error) == "a/b.mp4: cannot open: bad data"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.reason, str(copy)) == (error.path, error.reason, str(error))
