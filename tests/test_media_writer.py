"""VideoWriter: bit-exact lossless round trips, lossy timing, VFR, audio stream copy, rotation, atomicity."""
from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from clips import audio_packets, make_clip, moving_frames, video_timestamps

from stngan.media import Frame, MediaError, VideoInfo, VideoReader, VideoWriter


def _rewrite(src, dst, mode="lossless", **kwargs) -> list[np.ndarray]:
    """Decode ``src`` and write every frame to ``dst`` with its timestamps; return the decoded frames."""
    images = []
    with VideoReader(src) as reader, VideoWriter(dst, reader, mode, **kwargs) as writer:
        for frame in reader:
            images.append(frame.image)
            writer.write(frame.image, frame)
    return images


def _read(path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return [f.image for f in reader]


def _info(width: int, height: int) -> VideoInfo:
    return VideoInfo(path=None, width=width, height=height, fps=Fraction(25), time_base=Fraction(1, 25),
                     codec="rawvideo", pix_fmt="rgb24", container="none", frame_count=0, duration=None)


@pytest.mark.parametrize("size", [(410, 412), (701, 703)])
@pytest.mark.parametrize("suffix,codec", [(".mkv", "ffv1"), (".mp4", "libx264rgb"), (".mkv", "libx264rgb")])
def test_lossless_round_trip_is_bit_exact_at_odd_sizes(tmp_path, size, suffix, codec):
    # Noise on top of the photo defeats any accidental smoothing; every value 0..255 appears.
    rng = np.random.default_rng(size[0])
    images = [np.clip(f.astype(np.int16) + rng.integers(-40, 41, f.shape), 0, 255).astype(np.uint8)
              for f in moving_frames(*size, 4)]
    images[0][0, :256] = np.arange(256, dtype=np.uint8)[:, None]
    path = tmp_path / f"out{suffix}"
    with VideoWriter(path, _info(*size), "lossless", codec=codec, preset="ultrafast") as writer:
        assert writer.codec == codec and writer.size == size
        for image in images:
            writer.write(image)
    decoded = _read(path)
    assert len(decoded) == len(images)
    assert all(np.array_equal(a, b) for a, b in zip(decoded, images))


def test_default_codecs_per_container(tmp_path):
    for name, mode, codec in [("a.mkv", "lossless", "ffv1"), ("a.mp4", "lossless", "libx264rgb"),
                              ("a.mov", "lossy", "libx264")]:
        writer = VideoWriter(tmp_path / name, _info(8, 8), mode)
        assert writer.codec == codec
        writer.abort()
    VideoWriter(tmp_path / "dropped.mkv", _info(8, 8))  # never closed: collected at once, temp file removed
    with pytest.raises(MediaError, match="FFV1"):
        VideoWriter(tmp_path / "a.mp4", _info(8, 8), codec="ffv1")
    with pytest.raises(MediaError, match=r"\.avi"):
        VideoWriter(tmp_path / "a.avi", _info(8, 8))
    with pytest.raises(ValueError, match="lossless"):
        VideoWriter(tmp_path / "a.mkv", _info(8, 8), codec="libx264")
    assert not list(tmp_path.iterdir())


def test_source_to_lossless_keeps_decoded_pixels_timestamps_and_audio(tmp_path):
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_clip(src, size=(160, 120), count=20, audio="aac", options={"bf": "3"})
    decoded = _rewrite(src, dst, "lossless")
    assert all(np.array_equal(a, b) for a, b in zip(_read(dst), decoded))
    assert video_timestamps(dst) == video_timestamps(src)
    assert audio_packets(dst) == audio_packets(src)  # payload bytes and pts, exactly


@pytest.mark.parametrize("size", [(160, 120), (701, 703)])
def test_lossy_keeps_frame_count_and_timestamps(tmp_path, size):
    src, dst = tmp_path / "in.mkv", tmp_path / "out.mp4"
    make_clip(src, size=size, count=8, codec="ffv1")
    decoded = _rewrite(src, dst, "lossy", preset="ultrafast")
    with VideoReader(dst) as reader:
        assert (reader.codec, reader.pix_fmt) == ("h264", "yuv420p")
        assert (reader.width, reader.height) == (size[0] + size[0] % 2, size[1] + size[1] % 2)
        out = list(reader)
    assert [f.pts * f.time_base for f in out] == video_timestamps(src)
    h, w = size[1], size[0]
    for a, b in zip(out, decoded):
        mse = np.mean((a.image[:h, :w].astype(np.float64) - b) ** 2)
        assert 10 * np.log10(255 ** 2 / mse) > 33  # CRF 18, same BT.709 matrix both ways
    if size[0] % 2:  # padding replicates the last column
        assert np.abs(out[0].image[:h, w].astype(int) - out[0].image[:h, w - 1]).mean() < 4


@pytest.mark.parametrize("suffix,codec,mode", [(".mp4", "libx264rgb", "lossless"), (".mp4", "libx264", "lossy"),
                                               (".mkv", "ffv1", "lossless"), (".mkv", "libx264", "lossy")])
def test_variable_frame_rate_timestamps_survive_exactly(tmp_path, suffix, codec, mode):
    src, dst = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    pts = [0, 1, 3, 4, 9, 10, 11, 17, 18, 30, 31, 33]
    options = {"qp": "0"} if codec == "libx264rgb" else {}
    make_clip(src, count=len(pts), pts=pts, codec=codec, options=options, audio="aac")
    _rewrite(src, dst, mode, preset="ultrafast")
    with VideoReader(src) as a, VideoReader(dst) as b:
        assert a.is_vfr and b.is_vfr and b.time_base == a.time_base
        assert [f.pts for f in b] == [f.pts for f in a]
        assert b.duration == a.duration  # the last frame's duration is kept too
    assert audio_packets(dst) == audio_packets(src)


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_pcm_and_aac_audio_packets_are_copied_unchanged(tmp_path, suffix):
    src = tmp_path / "in.mkv"
    make_clip(src, count=25, codec="ffv1", audio="pcm_s16le" if suffix == ".mkv" else "aac")
    dst = tmp_path / f"out{suffix}"
    _rewrite(src, dst)
    assert audio_packets(dst) == audio_packets(src)


def test_aac_from_mp4_into_mkv_keeps_bytes_and_millisecond_times(tmp_path):
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mkv"
    make_clip(src, count=25, audio="aac")
    _rewrite(src, dst)
    a, b = audio_packets(src), audio_packets(dst)
    assert [p[1] for p in a] == [p[1] for p in b]
    assert max(abs(x[0] - y[0]) for x, y in zip(a, b)) <= Fraction(1, 2000)  # Matroska's 1 ms clock
    assert video_timestamps(dst) == video_timestamps(src)  # 25 fps is exact in ms: nothing shifted


def test_audio_is_interleaved_while_streaming(tmp_path):
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mkv"
    make_clip(src, count=50, audio="aac")
    total = len(audio_packets(src))
    with VideoReader(src) as reader, VideoWriter(dst, reader) as writer:
        for frame in reader:
            writer.write(frame.image, frame.pts, frame.duration)
            if frame.index == 24:  # half of 2 s: about half of the audio, not all of it up front
                assert 0.35 * total < writer.audio_packets_copied < 0.65 * total
    with av.open(str(dst)) as container:
        order = [p.stream.type for p in container.demux() if p.size]
    assert "audio" in order[: len(order) // 4] and "video" in order[-len(order) // 4:]


@pytest.mark.parametrize("suffix,mode", [(".mp4", "lossless"), (".mkv", "lossless"), (".mov", "lossy")])
def test_rotation_metadata_is_preserved(tmp_path, suffix, mode):
    src, dst = tmp_path / "phone.mp4", tmp_path / f"out{suffix}"
    make_clip(src, count=3, rotation=-90)
    _rewrite(src, dst, mode, preset="ultrafast")
    with VideoReader(dst) as reader:
        assert reader.rotation == -90 and (reader.width, reader.height) == (96, 64)


def test_exception_inside_with_leaves_no_file(tmp_path):
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_clip(src, count=10, audio="aac")
    with pytest.raises(KeyboardInterrupt):
        with VideoReader(src) as reader, VideoWriter(dst, reader) as writer:
            for frame in reader:
                writer.write(frame.image, frame.pts)
                if frame.index == 5:
                    raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_failed_write_keeps_an_existing_output_untouched(tmp_path):
    dst = tmp_path / "out.mkv"
    dst.write_bytes(b"previous result")
    with pytest.raises(MediaError, match="expected uint8"):
        with VideoWriter(dst, _info(16, 16)) as writer:
            writer.write(np.zeros((16, 16, 3), np.uint8))
            writer.write(np.zeros((16, 17, 3), np.uint8))
    assert dst.read_bytes() == b"previous result" and len(list(tmp_path.iterdir())) == 1


def test_frame_timing_is_rescaled_to_the_writer_clock(tmp_path):
    dst = tmp_path / "out.mp4"
    image = np.zeros((16, 16, 3), np.uint8)
    with VideoWriter(dst, _info(16, 16), "lossless") as writer:  # clock 1/25
        for i, (pts, tb) in enumerate([(0, Fraction(1, 1000)), (40, Fraction(1, 1000)), (6, Fraction(1, 50))]):
            writer.write(image, Frame(image, i, pts, tb, key_frame=True, duration=2 if tb.denominator == 50 else 40))
    with VideoReader(dst) as reader:
        assert [f.time for f in reader] == [0.0, 0.04, 0.12] and reader.duration == pytest.approx(0.16)


def test_bad_timestamps_and_empty_output_are_errors(tmp_path):
    dst = tmp_path / "out.mkv"
    with pytest.raises(MediaError, match="must increase"):
        with VideoWriter(dst, _info(16, 16)) as writer:
            writer.write(np.zeros((16, 16, 3), np.uint8), pts=5)
            writer.write(np.zeros((16, 16, 3), np.uint8), pts=5)
    with pytest.raises(MediaError, match="no frames"):
        with VideoWriter(dst, _info(16, 16)):
            pass
    assert not list(tmp_path.iterdir())


def test_pcm_into_mp4_is_refused_before_encoding(tmp_path):
    src = tmp_path / "in.mkv"
    make_clip(src, count=3, codec="ffv1", audio="pcm_s16le")
    with VideoReader(src) as reader, pytest.raises(MediaError, match="mkv or .mov"):
        VideoWriter(tmp_path / "out.mp4", reader)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv"]
    _rewrite(src, tmp_path / "out.mp4", copy_audio=False)  # fine without the audio
