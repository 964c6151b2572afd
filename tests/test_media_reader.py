"""VideoReader: decoding, timestamps, orientation, alpha, variable frame rate and bounded memory."""
from __future__ import annotations

import tracemalloc
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image
from clips import make_clip, moving_frames, video_timestamps

from stngan.media import Frame, VideoReader, from_display, probe, summary_line, to_display


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-12))


def test_h264_with_b_frames_decodes_in_presentation_order(tmp_path):
    path = tmp_path / "bframes.mp4"
    source = make_clip(path, size=(160, 120), count=30, audio="aac", options={"bf": "3", "preset": "fast"})
    with VideoReader(path) as reader:
        assert (reader.width, reader.height, reader.codec) == (160, 120, "h264")
        assert reader.fps == 25 and reader.frame_count == 30 and reader.duration == pytest.approx(1.2)
        assert reader.has_audio and not reader.is_vfr and reader.rotation == 0
        assert reader.time_base == Fraction(1, 12800)
        frames = list(reader)
    assert all(isinstance(f, Frame) for f in frames)
    assert [f.index for f in frames] == list(range(30))
    assert [f.pts for f in frames] == [512 * i for i in range(30)]
    assert frames[3].time == pytest.approx(0.12) and frames[0].key_frame
    assert frames[0].image.shape == (120, 160, 3) and frames[0].image.dtype == np.uint8
    assert min(_psnr(f.image, s) for f, s in zip(frames, source)) > 30  # same colour matrix both ways


def test_frame_count_is_exact_for_mp4_with_an_edit_list(tmp_path):
    path = tmp_path / "trimmed.mp4"  # frames before t=0 stay in the file but the edit list hides them
    make_clip(path, count=30, pts=list(range(-5, 25)))
    with VideoReader(path) as reader:
        assert reader.frame_count_exact and reader.frame_count == 25
        assert sum(1 for _ in reader) == 25
    mkv = tmp_path / "estimate.mkv"
    make_clip(mkv, count=10, codec="ffv1")
    with VideoReader(mkv) as reader:
        assert not reader.frame_count_exact and reader.frame_count == 10


def test_mpeg4_decodes(tmp_path):
    path = tmp_path / "old.avi"
    source = make_clip(path, size=(160, 120), count=12, codec="mpeg4", options={"qscale": "2"})
    with VideoReader(path) as reader:
        assert reader.codec == "mpeg4" and reader.frame_count == 12
        frames = list(reader)
    assert len(frames) == 12 and min(_psnr(f.image, s) for f, s in zip(frames, source)) > 25


@pytest.mark.parametrize("size", [(410, 412), (450, 680), (701, 703)])
def test_odd_and_unusual_sizes_decode_exactly_from_rgb_codecs(tmp_path, size):
    path = tmp_path / "odd.mkv"
    source = make_clip(path, size=size, count=3, codec="ffv1")
    with VideoReader(path) as reader:
        assert (reader.width, reader.height) == size
        assert all(np.array_equal(f.image, s) for f, s in zip(reader, source))


def test_rgba_gif_drops_alpha_onto_black_and_keeps_delays(tmp_path):
    rgb = moving_frames(53, 41, 4)
    alpha = np.zeros((41, 53), np.uint8)
    alpha[5:30, 5:40] = 255
    images = [Image.fromarray(np.dstack([f, alpha])) for f in rgb]
    path = tmp_path / "anim.gif"
    images[0].save(path, save_all=True, append_images=images[1:], duration=[100, 50, 200, 70], loop=0)
    with VideoReader(path) as reader:
        assert reader.is_vfr and reader.frame_count == 4
        frames = list(reader)
    assert [f.time for f in frames] == [0.0, 0.1, 0.15, 0.35] and frames[-1].duration == 7
    for frame in frames:
        assert frame.image.shape == (41, 53, 3)
        assert not frame.image[alpha == 0].any()  # transparent -> black
        assert frame.image[alpha == 255].any()


def test_rgba_png_sequence_composites_alpha(tmp_path):
    rgb = moving_frames(40, 30, 3)
    alpha = np.full((30, 40), 128, np.uint8)
    for i, f in enumerate(rgb):
        Image.fromarray(np.dstack([f, alpha])).save(tmp_path / f"f_{i:03d}.png")
    with VideoReader(tmp_path / "f_%03d.png") as reader:
        frames = list(reader)
    assert len(frames) == 3
    expected = (rgb[2].astype(np.uint32) * 128 + 127) // 255
    assert np.array_equal(frames[2].image, expected)


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotation_is_reported_and_frames_stay_as_stored(tmp_path, rotation):
    path = tmp_path / "phone.mp4"
    source = make_clip(path, size=(64, 48), count=3, codec="libx264rgb", options={"qp": "0"}, rotation=rotation)
    with VideoReader(path) as reader:
        assert reader.rotation == rotation and reader.display_matrix is not None
        first = next(iter(reader))
    assert np.array_equal(first.image, source[0])
    upright = to_display(first.image, rotation)
    assert upright.shape == ((64, 48, 3) if rotation % 180 else (48, 64, 3))
    assert np.array_equal(from_display(upright, rotation), source[0])


def test_variable_frame_rate_is_detected_and_timestamps_kept(tmp_path):
    path = tmp_path / "vfr.mp4"
    pts = [0, 1, 2, 5, 6, 10, 11, 12, 20, 21]
    make_clip(path, count=10, pts=pts, codec="libx264rgb", options={"qp": "0"})
    with VideoReader(path) as reader:
        assert reader.is_vfr
        assert [f.pts * f.time_base for f in reader] == [Fraction(p, 25) for p in pts]


def test_millisecond_rounding_is_not_vfr(tmp_path):
    path = tmp_path / "ntsc.mkv"
    make_clip(path, count=12, fps=30, codec="ffv1")  # Matroska stores 0, 33, 67, 100, ... ms
    with VideoReader(path) as reader:
        assert not reader.is_vfr and reader.fps == 30


def test_iterates_once(tmp_path):
    path = tmp_path / "a.mkv"
    make_clip(path, count=2, codec="ffv1")
    with VideoReader(path) as reader:
        list(reader)
        assert reader.frames_read == 2
        with pytest.raises(RuntimeError):
            iter(reader)


def test_memory_stays_bounded_over_300_frames(tmp_path):
    path = tmp_path / "long.mp4"
    make_clip(path, moving_frames(640, 360, 30) * 10, options={"preset": "ultrafast"})
    frame_bytes = 640 * 360 * 3
    with VideoReader(path) as reader:
        assert not any(isinstance(v, (list, tuple, dict)) and len(v) > 16 for v in vars(reader).values())
        tracemalloc.start()
        try:
            count = sum(1 for _ in reader)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert count == 300
    # Frame images are numpy-owned, so tracemalloc sees them: at least one, far fewer than 300 (207 MB).
    assert frame_bytes <= peak < 8 * frame_bytes


def test_probe_summarises_without_full_decode(tmp_path):
    path = tmp_path / "p.mp4"
    make_clip(path, count=5, audio="aac", rotation=90)
    info = probe(path)
    assert info["video"]["width"] == 96 and info["video"]["rotation"] == 90 and info["error"] is None
    assert [s["type"] for s in info["streams"]] == ["video", "audio"] and info["size_bytes"] > 0
    line = summary_line(info)
    assert "\n" not in line and "h264 96x64" in line and "audio aac" in line


def test_timestamps_helper_matches_reader(tmp_path):
    path = tmp_path / "t.mkv"
    make_clip(path, count=4, codec="ffv1")
    with VideoReader(path) as reader:
        assert [f.pts * f.time_base for f in reader] == video_timestamps(path)
