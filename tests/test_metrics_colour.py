"""stngan.metrics.colour: CIELAB values against published ones, fill error, ITA groups, seam error."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from stngan.metrics.colour import (
    SKIN_TONE_NAMES,
    edge_step,
    fill_colour_error,
    ita_degrees,
    lab,
    seam_error,
    skin_tone_group,
)


def from_lab(L: np.ndarray) -> np.ndarray:
    """float Lab (H, W, 3) → uint8 sRGB, rounded."""
    rgb = cv2.cvtColor(L.astype(np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)


def skin(h: int = 40, w: int = 40, seed: int = 0) -> np.ndarray:
    """A textured skin-like patch (pale, a* ~ 12, b* ~ 16) with noise of a few ΔE."""
    rng = np.random.default_rng(seed)
    L = np.empty((h, w, 3), np.float32)
    L[..., 0] = 72 + rng.normal(0, 2, (h, w))
    L[..., 1] = 12 + rng.normal(0, 1, (h, w))
    L[..., 2] = 16 + rng.normal(0, 1, (h, w))
    return from_lab(L)


def disc(h: int = 40, w: int = 40, r: float = 10) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w]
    return (xs - w / 2) ** 2 + (ys - h / 2) ** 2 <= r * r


def test_lab_of_white_black_and_srgb_primaries_match_published_values():
    img = np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    got = lab(img)[0]
    assert got.dtype == np.float32
    # CIE L*a*b* (D65) of sRGB white, black, red, green, blue (e.g. Lindbloom's calculator)
    want = [(100, 0, 0), (0, 0, 0), (53.24, 80.09, 67.20), (87.73, -86.18, 83.18), (32.30, 79.19, -107.86)]
    np.testing.assert_allclose(got, np.array(want), atol=0.5)


def test_lab_refuses_float_images():
    with pytest.raises(ValueError, match="uint8"):
        lab(np.zeros((4, 4, 3), np.float32))


def test_identical_images_have_zero_error():
    x = skin()
    err = fill_colour_error(x, x.copy(), disc())
    assert err["pixels"] == disc().sum()
    for k in ("de", "dL", "da", "db", "de_means"):
        assert err[k] == 0.0


def test_constant_a_shift_inside_mask_is_measured_as_bias():
    x = skin()
    m = disc()
    L = lab(x)
    L[m, 1] += 10
    y = from_lab(L)
    assert (y[~m] == x[~m]).all()
    err = fill_colour_error(x, y, m)
    assert err["da"] == pytest.approx(10, abs=0.5)
    assert err["de"] == pytest.approx(10, abs=0.7)
    assert err["de_means"] == pytest.approx(10, abs=0.5)
    assert abs(err["dL"]) < 0.5 and abs(err["db"]) < 0.7


def test_bias_is_signed_output_minus_original():
    x = skin()
    m = disc()
    L = lab(x)
    L[m, 2] -= 6  # bluer fill
    err = fill_colour_error(x, from_lab(L), m)
    assert err["db"] == pytest.approx(-6, abs=0.5)


def test_noise_without_bias_has_large_de_but_small_de_of_means():
    x = skin(seed=1)
    m = disc()
    L = lab(x)
    L[m, 0] += np.random.default_rng(2).choice([-8.0, 8.0], size=int(m.sum()))
    err = fill_colour_error(x, from_lab(L), m)
    assert err["de"] > 6
    assert err["de_means"] < 1.5


def test_empty_mask_gives_nan():
    x = skin()
    err = fill_colour_error(x, x, np.zeros(x.shape[:2], bool))
    assert err["pixels"] == 0 and math.isnan(err["de"])


def test_mask_of_wrong_shape_is_refused():
    x = skin()
    with pytest.raises(ValueError, match="mask"):
        fill_colour_error(x, x, np.ones((3, 3), bool))


def test_ita_of_a_known_colour():
    # L* 65, b* 15: ITA = atan(15 / 15) = 45 degrees ("light"); L* 40, b* 20: atan(-10 / 20) = -26.57 ("brown")
    for L_star, b_star, want, group in ((65, 15, 45.0, "light"), (40, 20, -26.565, "brown")):
        L = np.zeros((20, 20, 3), np.float32)
        L[...] = (L_star, 10, b_star)
        img = from_lab(L)
        ita = ita_degrees(img, np.ones((20, 20), bool))
        assert ita == pytest.approx(want, abs=1.0)
        assert skin_tone_group(ita) == group


def test_ita_uses_only_the_ring():
    img = np.zeros((20, 20, 3), np.uint8)  # black outside the ring: would give ITA -90
    ring = np.zeros((20, 20), bool)
    ring[5:10] = True
    L = np.zeros((5, 20, 3), np.float32)
    L[...] = (65, 10, 15)
    img[ring] = from_lab(L).reshape(-1, 3)
    assert ita_degrees(img, ring) == pytest.approx(45, abs=1.0)
    assert math.isnan(ita_degrees(img, np.zeros((20, 20), bool)))


@pytest.mark.parametrize("ita,group", [(60, "very light"), (55.01, "very light"), (55, "light"), (41.5, "light"),
                                       (30, "intermediate"), (28.0, "tan"), (15, "tan"), (0, "brown"),
                                       (-29.9, "brown"), (-30, "dark"), (-60, "dark"), (math.nan, "unknown")])
def test_skin_tone_groups(ita, group):
    assert skin_tone_group(ita) == group


def test_six_groups_in_order():
    assert SKIN_TONE_NAMES == ("very light", "light", "intermediate", "tan", "brown", "dark")


def test_seam_of_the_original_is_zero_and_of_a_hard_step_is_positive():
    x = skin(seed=3)
    m = disc()
    assert seam_error(x, m, x) == 0.0
    y = x.copy()
    y[m] = (230, 150, 110)  # orange patch
    assert seam_error(y, m, x) > 10


def test_seam_is_zero_for_a_fill_that_continues_a_smooth_face():
    # a smooth gradient face: the true fill has the same small steps across the edge as everywhere else
    ramp = np.linspace(80, 200, 40).astype(np.uint8)
    x = np.stack([np.tile(ramp, (40, 1))] * 3, axis=2)
    m = disc()
    assert seam_error(x.copy(), m, x) == 0.0
    assert edge_step(x, m) > 0  # the statistic itself is not zero on a real face


def test_edge_step_counts_each_straddling_pair_once():
    img = np.zeros((3, 3, 3), np.uint8)
    img[1, 1] = 255  # white centre pixel = the mask; its 4 neighbours are black: 4 pairs of ΔE 100
    m = np.zeros((3, 3), bool)
    m[1, 1] = True
    assert edge_step(img, m) == pytest.approx(100, abs=0.01)
    img[0, 1] = 255  # one neighbour white too: mean over the 4 pairs = 75
    assert edge_step(img, m) == pytest.approx(75, abs=0.01)
    assert math.isnan(edge_step(img, np.zeros((3, 3), bool)))
