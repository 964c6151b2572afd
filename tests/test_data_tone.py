"""Tone augmentation: exact effect of each parameter, range, and no random draws when off."""
from __future__ import annotations

import numpy as np
import pytest

from stngan.data.tone import BRIGHTNESS, Tone


def image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, size=(3, 8, 8)).astype(np.float32)


def test_brightness_scales_linear_values():
    x = image()
    y = Tone(0.5, 1.0, (1.0, 1.0, 1.0)).apply(x)
    np.testing.assert_allclose((y + 1) / 2, (x + 1) / 4, atol=1e-6)


def test_zero_saturation_gives_grey_and_gains_tint():
    y = Tone(1.0, 0.0, (1.0, 1.0, 1.0)).apply(image())
    assert np.allclose(y[0], y[1], atol=1e-6) and np.allclose(y[1], y[2], atol=1e-6)
    tinted = Tone(0.5, 1.0, (1.1, 1.0, 0.9)).apply(image())
    base = Tone(0.5, 1.0, (1.0, 1.0, 1.0)).apply(image())
    assert ((tinted[0] + 1) > (base[0] + 1)).all() and ((tinted[2] + 1) < (base[2] + 1)).all()


def test_output_stays_in_range():
    y = Tone(1.1, 1.3, (1.08, 1.08, 1.08)).apply(np.ones((3, 4, 4), np.float32))
    assert y.max() <= 1.0 and y.min() >= -1.0 and y.dtype == np.float32


def test_draws_nothing_when_off_and_within_ranges_when_on():
    rng = np.random.default_rng(3)
    assert Tone.draw(rng, 0.0) is None
    assert rng.random() == np.random.default_rng(3).random()  # the stream did not move
    tones = [Tone.draw(np.random.default_rng(i), 1.0) for i in range(200)]
    assert all(BRIGHTNESS[0] <= t.brightness <= BRIGHTNESS[1] for t in tones)
    assert min(t.brightness for t in tones) < 0.45  # dark faces do get drawn
    share = np.mean([Tone.draw(np.random.default_rng(i), 0.25) is not None for i in range(2000)])
    assert share == pytest.approx(0.25, abs=0.03)


def face_landmarks() -> np.ndarray:
    """68 points of a frontal face in a 128² crop (the shipped mean face in a 96-px box)."""
    from stngan.faces.template import mean_shape

    return mean_shape().astype(np.float64) * 96 + 16


def test_bright_parts_cover_eye_openings_and_inner_mouth_only():
    from stngan.data.tone import bright_parts

    lm = face_landmarks()
    parts = bright_parts(lm, 128, 128)
    assert parts.shape == (128, 128) and parts.dtype == np.float32 and 0 <= parts.min() and parts.max() <= 1
    for group in (slice(36, 42), slice(42, 48)):
        cx, cy = lm[group].mean(axis=0)
        assert parts[int(round(cy)), int(round(cx))] > 0.9  # inside each eye opening
    nose_tip, chin, cheek = lm[30], lm[8], (lm[2] + lm[31]) / 2
    for x, y in (nose_tip, chin, cheek):
        assert parts[int(round(y)), int(round(x))] == 0.0  # skin


def test_skin_mode_darkens_skin_and_spares_bright_parts():
    x = np.zeros((3, 4, 4), np.float32)  # grey 0.5 in [0, 1]
    parts = np.zeros((4, 4), np.float32)
    parts[0, 0], parts[0, 1] = 1.0, 0.5
    dark = Tone(0.4, 1.0, (1.0, 1.0, 1.0))
    v = (dark.apply(x, parts) + 1) / 2
    assert v[:, 3, 3] == pytest.approx(0.5 * 0.4)  # skin: the whole change
    assert v[:, 0, 0] == pytest.approx(0.5 * 0.85)  # a part: at most down to BRIGHT_PART_FLOOR
    assert v[:, 0, 1] == pytest.approx(0.5 * (0.4 + 0.5 * (0.85 - 0.4)))
    light = Tone(1.05, 1.0, (1.0, 1.0, 1.0))  # brighter than the floor: the parts follow the skin
    np.testing.assert_allclose(light.apply(x, parts), light.apply(x), atol=1e-6)
    np.testing.assert_allclose(dark.apply(x, np.zeros((4, 4), np.float32)), dark.apply(x), atol=1e-6)
