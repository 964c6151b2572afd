"""The landmark condition c: shape, range, exact distances, mirror symmetry, arbitrary landmarks, speed."""
from __future__ import annotations


import numpy as np
import pytest

from stngan.faces import N_COND_CHANNELS, CropTransform, flip_landmarks, render_condition
from stngan.faces.condition import CONDITION_PARTS


def _brute_force(lm: np.ndarray, size: int, sigma: float) -> np.ndarray:
    """Exact distance from every pixel centre to every segment of every part, no windows, no cut-off."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    p = np.stack([xx, yy], axis=-1)[..., None, :]  # (size, size, 1, 2)
    out = []
    for segments in CONDITION_PARTS.values():
        a = lm[[i for i, _ in segments]]
        b = lm[[j for _, j in segments]]
        d = b - a
        dd = np.maximum((d * d).sum(-1), 1e-300)
        t = np.clip(((p - a) * d).sum(-1) / dd, 0, 1)[..., None]
        dist2 = ((p - a - t * d) ** 2).sum(-1).min(axis=-1)
        out.append(np.exp(-dist2 / (2 * sigma**2)))
    return np.stack(out)


@pytest.fixture(scope="module")
def crop_landmarks(astronaut_face) -> np.ndarray:
    return CropTransform.from_box(astronaut_face.box).to_crop(astronaut_face.landmarks)


def test_shape_dtype_range(crop_landmarks):
    c = render_condition(crop_landmarks)
    assert N_COND_CHANNELS == 5 and list(CONDITION_PARTS) == ["jaw", "brows", "nose", "eyes", "mouth"]
    assert c.shape == (5, 128, 128) and c.dtype == np.float32
    assert c.min() >= 0.0 and c.max() <= 1.0
    assert (c.reshape(5, -1).max(axis=1) > 0.9).all()  # every part is drawn


def test_peak_is_one_at_a_landmark(crop_landmarks):
    lm = np.rint(crop_landmarks)
    c = render_condition(lm)
    for channel, point in [(0, 8), (1, 19), (2, 30), (3, 36), (3, 45), (4, 51), (4, 66)]:
        x, y = lm[point].astype(int)
        assert c[channel, y, x] == 1.0
    x, y = lm[30].astype(int)
    assert c[4, y, x] < 0.5  # the nose tip is not on the mouth channel


def test_matches_brute_force_exactly(crop_landmarks):
    rng = np.random.default_rng(0)
    lm = crop_landmarks * 0.4 + rng.normal(0, 1.5, crop_landmarks.shape)  # sub-pixel, perturbed, size 52
    partly_out = lm + np.array([-25.0, 18.0])  # segments crossing the crop border get clipped
    for points in (lm, partly_out):
        for sigma in (1.0, 1.5, 3.0):
            got = render_condition(points, size=52, sigma=sigma)
            assert np.abs(got - _brute_force(points, 52, sigma)).max() < 1e-5


def test_horizontal_flip_commutes(crop_landmarks):
    rng = np.random.default_rng(1)
    for lm in (crop_landmarks, crop_landmarks + rng.normal(0, 3, crop_landmarks.shape)):
        c = render_condition(lm)
        c_flipped = render_condition(flip_landmarks(lm, 128))
        assert np.abs(c_flipped - c[:, :, ::-1]).max() < 1e-5


def test_landmarks_outside_the_crop(crop_landmarks):
    assert render_condition(crop_landmarks + 1000.0).max() == 0.0
    assert render_condition(crop_landmarks - 1e6).max() == 0.0
    shifted = crop_landmarks + np.array([-70.0, 0.0])  # left half of the face leaves the crop
    c = render_condition(shifted)
    assert c.shape == (5, 128, 128) and 0.0 <= c.min() and c.max() <= 1.0
    assert c[0].max() > 0.99  # the jaw's right half is still visible
    assert np.array_equal(c[:, :, 80:], np.zeros_like(c[:, :, 80:]))  # nothing beyond the shifted face


def test_arbitrary_landmarks(crop_landmarks):
    rng = np.random.default_rng(2)
    wild = rng.uniform(-1e12, 1e12, (68, 2))  # long segments across the crop: clipped, not split into 1e11
    for lm in (rng.uniform(-300, 400, (68, 2)), np.full((68, 2), 64.0), crop_landmarks[::-1].copy(), wild):
        c = render_condition(lm)
        assert c.shape == (5, 128, 128) and np.isfinite(c).all() and c.min() >= 0 and c.max() <= 1
    point = render_condition(np.full((68, 2), 64.0))
    assert point[:, 64, 64].tolist() == [1.0] * 5 and point[0, 64, 67] == pytest.approx(np.exp(-9 / 4.5), rel=1e-5)


def test_rejects_bad_landmarks():
    with pytest.raises(ValueError):
        render_condition(np.zeros((67, 2)))
    with pytest.raises(ValueError):
        render_condition(np.full((68, 2), np.nan))
    with pytest.raises(ValueError):
        render_condition(np.zeros((68, 2)), sigma=0.0)

