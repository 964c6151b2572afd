"""Temporal accumulation of inpainted faces (stngan/inference/temporal.py, issue 15)."""
from __future__ import annotations

import numpy as np
import pytest

from stngan.inference.temporal import CLAMP_MARGIN, TemporalFilter, check_weight, similarity

H, W = 96, 128


def _landmarks(shift=(0.0, 0.0)) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(40, 80, size=(68, 2)) + np.asarray(shift)


def _mask() -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    m[35:65, 45:85] = 1
    return m


def _texture(seed: int = 1) -> np.ndarray:
    """Smooth random texture (H+40, W+40, 3) float: shifting it by sub-pixel steps stays well sampled."""
    import cv2

    rng = np.random.default_rng(seed)
    t = rng.uniform(40, 220, size=(H + 40, W + 40, 3)).astype(np.float32)
    return cv2.GaussianBlur(t, (0, 0), 2.0)


def test_similarity_recovers_a_known_transform():
    src = _landmarks()
    a, s, t = np.deg2rad(12), 1.15, np.array([3.5, -7.25])
    rot = s * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    m = similarity(src, src @ rot.T + t)
    np.testing.assert_allclose(m[:, :2], rot, atol=1e-9)
    np.testing.assert_allclose(m[:, 2], t, atol=1e-9)


def test_weight_is_checked_and_one_turns_it_off():
    with pytest.raises(ValueError):
        check_weight(0.0)
    with pytest.raises(ValueError):
        check_weight(1.5)
    f = TemporalFilter(1.0)
    frame = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)
    for _ in range(3):
        assert f.apply(frame, _mask(), _landmarks(), 0) is frame
    assert f.history == {}


def test_pixels_outside_the_mask_stay_bit_exact_and_the_first_frame_passes_through():
    rng = np.random.default_rng(0)
    f = TemporalFilter(0.15)
    mask = _mask()
    for i in range(5):
        frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
        out = f.apply(frame, mask, _landmarks((i, 0)), 7)
        assert out is not frame
        np.testing.assert_array_equal(out[mask == 0], frame[mask == 0])
        if i == 0:
            np.testing.assert_array_equal(out, frame)
        else:
            assert (out[mask > 0] != frame[mask > 0]).any()


def _flicker(frames: list[np.ndarray], mask: np.ndarray) -> float:
    d = [np.abs(a.astype(np.float32) - b.astype(np.float32))[mask > 0].mean() for a, b in zip(frames, frames[1:])]
    return float(np.mean(d))


def test_a_still_face_with_a_shimmering_fill_is_steadied():
    """Fill = fixed content + fresh noise each frame (what the generator does on a still face)."""
    rng = np.random.default_rng(3)
    base = _texture()[:H, :W]
    mask = _mask()
    f = TemporalFilter(0.15)
    raw, out = [], []
    for _ in range(30):
        frame = np.clip(base + rng.normal(0, 4, base.shape), 0, 255).round().astype(np.uint8)
        raw.append(frame)
        out.append(f.apply(frame, mask, _landmarks(), 0))
    assert _flicker(out[5:], mask) < 0.5 * _flicker(raw[5:], mask)
    # and it stays the same face: the steadied fill is closer to the noise-free content, not smeared away
    err_raw = np.abs(raw[-1].astype(np.float32) - base)[mask > 0].mean()
    err_out = np.abs(out[-1].astype(np.float32) - base)[mask > 0].mean()
    assert err_out < err_raw


def test_history_follows_the_face_through_its_landmarks():
    """A face moving 1.5 px right and 0.75 px down per frame: a fill that moves with it exactly is kept as it
    is (the reprojected history lines up); with the landmarks left still the history would smear it."""
    import cv2

    tex = _texture()
    mask = _mask()

    def frame_at(i: int) -> np.ndarray:
        m = np.float32([[1, 0, 1.5 * i - 20], [0, 1, 0.75 * i - 20]])  # frame(x) = tex(x − m[:, 2])
        return np.clip(cv2.warpAffine(tex, m, (W, H), flags=cv2.INTER_CUBIC), 0, 255).round().astype(np.uint8)

    follow, still = TemporalFilter(0.15), TemporalFilter(0.15)
    err_follow, err_still = [], []
    for i in range(12):
        frame = frame_at(i)
        a = follow.apply(frame, mask, _landmarks((1.5 * i, 0.75 * i)), 0)
        b = still.apply(frame, mask, _landmarks(), 0)
        inner = mask > 0
        err_follow.append(np.abs(a.astype(np.float32) - frame)[inner].mean())
        err_still.append(np.abs(b.astype(np.float32) - frame)[inner].mean())
    assert max(err_follow) < 1.0
    assert np.mean(err_still[4:]) > 2 * np.mean(err_follow[4:])


def test_a_real_change_replaces_the_history_at_once():
    """A mouth opening: the content under the mask jumps by 60 grey levels. Every output pixel stays within
    the new frame's 3×3 range plus the clamp's slack (no ghost of the old content; without the clamp the
    output would sit 0.85 × 60 = 51 levels behind)."""
    import cv2

    base = _texture()[:H, :W]
    mask = _mask()
    f = TemporalFilter(0.15)
    for _ in range(10):
        f.apply(np.clip(base, 0, 255).round().astype(np.uint8), mask, _landmarks(), 0)
    changed = np.clip(base + 60, 0, 255).round().astype(np.uint8)
    out = f.apply(changed, mask, _landmarks(), 0)
    inner = mask > 0
    lo, hi = cv2.erode(changed, np.ones((3, 3), np.uint8)), cv2.dilate(changed, np.ones((3, 3), np.uint8))
    o = out.astype(np.float32)
    assert (o[inner] >= lo[inner] - CLAMP_MARGIN - 0.5).all() and (o[inner] <= hi[inner] + CLAMP_MARGIN + 0.5).all()
    assert np.abs(o - changed)[inner].mean() < 6


def test_tracks_are_independent_and_forgotten_when_they_end():
    rng = np.random.default_rng(0)
    f = TemporalFilter(0.15)
    frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    f.apply(frame, _mask(), _landmarks(), 1)
    other = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    np.testing.assert_array_equal(f.apply(other, _mask(), _landmarks(), 2), other)  # a new track: no history
    f.end_track(1)
    np.testing.assert_array_equal(f.apply(other, _mask(), _landmarks(), 1), other)


def test_inpaint_steadies_a_moving_face_and_keeps_the_background(tmp_path):
    """End to end (`stngan inpaint`): the astronaut crop moves 2 px right and 1 px down per frame, so the
    exact flow is known; the default --temporal lowers the warping error inside the masks against --temporal 1
    (off), and both leave every pixel outside the masks as the masked input has it."""
    from click.testing import CliRunner

    from stngan.cli import cli
    from stngan.faces.masks import rasterize
    from stngan.inference.sidecar import Sidecar, sidecar_path_for
    from clips import make_clip
    from helpers import astronaut_frames, frames_of, tiny_checkpoint

    def run(*args: str) -> None:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output

    src, masked = tmp_path / "in.mkv", tmp_path / "masked.mkv"
    make_clip(src, astronaut_frames(8), codec="ffv1")
    model = str(tiny_checkpoint(tmp_path))
    run("anonymize", str(src), "-o", str(masked), "--lossless", "--quiet")
    sidecar = Sidecar.load(sidecar_path_for(masked))
    by_frame = sidecar.faces_by_frame()
    errors = {}
    for weight in ("1", "0.15"):
        out = tmp_path / f"out_{weight}.mkv"
        run("inpaint", str(masked), "-o", str(out), "--model", model, "--lossless", "--quiet", "--temporal", weight)
        frames, inputs = frames_of(out), frames_of(masked)
        per_pair = []
        for i, (a, b) in enumerate(zip(frames, frames[1:])):
            union = np.zeros(a.shape[:2], bool)
            for face in by_frame[i + 1]:
                union |= rasterize(face.mask, *a.shape[:2]).astype(bool)
            np.testing.assert_array_equal(b[~union], inputs[i + 1][~union])
            region = union[:-1, :-2]  # frame i+1 at (x, y) shows what frame i showed at (x + 2, y + 1)
            diff = np.abs(b[:-1, :-2].astype(np.float32) - a[1:, 2:])[region]
            per_pair.append(diff.mean())
        errors[weight] = float(np.mean(per_pair))
    assert errors["0.15"] < 0.7 * errors["1"], errors
