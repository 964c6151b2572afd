"""Privacy masks: coverage of every eye/nose/mouth landmark, jitter, exact rasterisation, x_hat."""
from __future__ import annotations

import json

import numpy as np
import pytest

from stngan.faces import (
    LEFT_EYE,
    MOUTH,
    NOSE,
    RIGHT_EYE,
    Circle,
    CropTransform,
    MaskGeometry,
    apply_mask,
    mask_geometry,
    rasterize,
)
from stngan.faces.masks import MARGIN_CROP_PX, crop_pixel_size

MASKED_POINTS = list(RIGHT_EYE) + list(LEFT_EYE) + list(NOSE) + list(MOUTH)
PART_OF_CIRCLE = [RIGHT_EYE, LEFT_EYE, NOSE, MOUTH]


def _assert_covers(landmarks: np.ndarray, geometry: MaskGeometry, shape: tuple[int, int]) -> None:
    mask = rasterize(geometry, *shape)
    for circle, part in zip(geometry.circles, PART_OF_CIRCLE):
        d = np.hypot(landmarks[part, 0] - circle.cx, landmarks[part, 1] - circle.cy)
        assert (d + np.sqrt(0.5) <= circle.r).all()  # the whole pixel of each landmark is inside
    cols, rows = np.rint(landmarks[MASKED_POINTS]).astype(int).T
    inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
    assert mask[rows[inside], cols[inside]].all()


@pytest.mark.parametrize("name", ["astronaut", "sanogo", "tiny", "frontal", "three_quarter", "outdoor"])
def test_mask_covers_landmarks(face_images, face_analyses, name):
    lm = face_analyses[name][0].landmarks
    _assert_covers(lm, mask_geometry(lm), face_images[name].shape[:2])


@pytest.mark.parametrize("name", ["astronaut", "tiny"])
def test_mask_covers_landmarks_with_jitter_for_100_seeds(face_images, face_analyses, name):
    lm = face_analyses[name][0].landmarks
    for seed in range(100):
        _assert_covers(lm, mask_geometry(lm, jitter=3.0, rng=seed), face_images[name].shape[:2])


def test_mask_covers_landmarks_in_crop_space(astronaut_face):
    t = CropTransform.from_box(astronaut_face.box)
    lm = t.to_crop(astronaut_face.landmarks)
    for seed in range(20):
        g = mask_geometry(astronaut_face.landmarks, jitter=3.0, rng=seed).transformed(t)
        _assert_covers(lm, g, (128, 128))


def test_radius_rule(astronaut_face):
    lm = astronaut_face.landmarks.astype(np.float64)
    unit = crop_pixel_size(lm)
    assert unit == pytest.approx(1.4 * np.ptp(lm, axis=0).max() / 128)
    for circle, part in zip(mask_geometry(lm).circles, PART_OF_CIRCLE):
        centre = lm[part].mean(axis=0)
        reach = np.hypot(*(lm[part] - centre).T).max()
        assert (circle.cx, circle.cy) == pytest.approx(tuple(centre))
        assert circle.r == pytest.approx(reach + MARGIN_CROP_PX * unit)


def test_jitter_spans_plus_minus_3_crop_pixels(astronaut_face):
    lm = astronaut_face.landmarks
    base = np.array([c.r for c in mask_geometry(lm).circles])
    unit = crop_pixel_size(lm)
    deltas = np.array([[c.r for c in mask_geometry(lm, 3.0, seed).circles] for seed in range(200)]) - base
    deltas /= unit
    assert deltas.min() >= -3.0 - 1e-9 and deltas.max() <= 3.0 + 1e-9
    assert deltas.min() < -2.5 and deltas.max() > 2.5
    assert np.ptp(deltas[:, 0]) > 0 and not np.allclose(deltas[:, 0], deltas[:, 3])  # independent per circle


def test_same_seed_same_mask_different_seed_different(astronaut_face):
    lm = astronaut_face.landmarks
    a = rasterize(mask_geometry(lm, 3.0, np.random.default_rng(7)), 512, 512)
    b = rasterize(mask_geometry(lm, 3.0, np.random.default_rng(7)), 512, 512)
    assert np.array_equal(a, b)
    masks = [rasterize(mask_geometry(lm, 3.0, seed), 512, 512) for seed in range(10)]
    for i in range(10):
        for j in range(i + 1, 10):
            assert not np.array_equal(masks[i], masks[j])


def test_jitter_needs_rng(astronaut_face):
    with pytest.raises(ValueError, match="rng"):
        mask_geometry(astronaut_face.landmarks, jitter=3.0)
    with pytest.raises(ValueError):
        mask_geometry(astronaut_face.landmarks, jitter=-1.0, rng=0)


def test_rasterize_is_exact():
    rng = np.random.default_rng(5)
    circles = [Circle(5.0, 5.0, 3.0), Circle(12.5, 3.25, 2.5)]  # integer and half-integer boundary hits
    circles += [Circle(*rng.uniform(-3, 25, 2), rng.uniform(0, 6)) for _ in range(6)]
    g = MaskGeometry(tuple(circles))
    expected = np.zeros((17, 23), np.uint8)
    for i in range(17):
        for j in range(23):
            expected[i, j] = any((j - c.cx) ** 2 + (i - c.cy) ** 2 <= c.r**2 for c in circles)
    got = rasterize(g, 17, 23)
    assert got.dtype == np.uint8 and np.array_equal(got, expected)
    assert got[8, 5] == 1 and got[5, 8] == 1 and got[9, 5] == 0  # points exactly at distance r are inside


def test_transformed_and_dilated():
    g = MaskGeometry((Circle(100.0, 50.0, 10.0), Circle(0.0, 0.0, 1.0)))
    t = CropTransform(cx=100.0, cy=50.0, side=64.0, size=128)
    gt = g.transformed(t)
    assert (gt.circles[0].cx, gt.circles[0].cy, gt.circles[0].r) == pytest.approx((63.5, 63.5, 20.0))
    assert np.allclose([gt.circles[1].cx, gt.circles[1].cy], t.to_crop(np.array([0.0, 0.0])))
    d = g.dilated(2.5)
    assert [c.r for c in d.circles] == [12.5, 3.5]
    assert [c.r for c in g.dilated(-5).circles] == [5.0, 0.0]


def test_transformed_mask_matches_cropped_mask(astronaut_face):
    t = CropTransform.from_box(astronaut_face.box)
    g = mask_geometry(astronaut_face.landmarks)
    frame_mask = rasterize(g, 512, 512)
    cropped = t.crop(np.repeat(frame_mask[..., None] * 255, 3, axis=2))[..., 0] > 127
    direct = rasterize(g.transformed(t), 128, 128).astype(bool)
    assert (cropped & direct).sum() / (cropped | direct).sum() > 0.97


def test_dict_round_trip(astronaut_face):
    g = mask_geometry(astronaut_face.landmarks, 3.0, 1)
    assert MaskGeometry.from_dict(json.loads(json.dumps(g.to_dict()))) == g


def _unused_colour(pixels: np.ndarray) -> tuple[int, int, int]:
    used = set(map(tuple, pixels.reshape(-1, 3).tolist()))
    for v in range(256):
        for colour in ((v, 255 - v, 37), (37, v, 255 - v)):
            if colour not in used:
                return colour
    raise AssertionError("no free colour")


def test_no_original_pixel_survives_under_the_mask(face_images, face_analyses):
    img = face_images["astronaut"]
    mask = rasterize(mask_geometry(face_analyses["astronaut"][0].landmarks), *img.shape[:2])
    m = mask.astype(bool)
    fill = _unused_colour(img[m])
    x_hat = apply_mask(img, mask, fill)
    assert (x_hat[m] != img[m]).any(axis=-1).all()
    assert (x_hat[m] == fill).all()
    assert np.array_equal(x_hat[~m], img[~m])  # outside the mask x_hat == x exactly
    black = apply_mask(img, mask)
    assert (black[m] == 0).all() and np.array_equal(black[~m], img[~m])
    assert np.array_equal(x_hat, img * (1 - mask[..., None]) + np.array(fill, np.uint8) * mask[..., None])


def test_apply_mask_leaves_input_alone_and_validates(face_images):
    img = face_images["sanogo"]
    before = img.copy()
    mask = np.zeros(img.shape[:2], np.uint8)
    mask[10:20, 10:20] = 1
    apply_mask(img, mask, (1, 2, 3))
    assert np.array_equal(img, before)
    with pytest.raises(ValueError):
        apply_mask(img, mask, (0, 0, 256))
    with pytest.raises(ValueError):
        apply_mask(img, mask[:-1])
