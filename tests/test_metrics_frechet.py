"""Fréchet distance and KID against closed forms and brute force."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from stngan.metrics import GaussianStats, frechet_distance, gaussian_stats, kernel_inception_distance


def test_same_features_give_zero():
    f = np.random.default_rng(0).normal(size=(200, 16))
    s = gaussian_stats(f)
    assert frechet_distance(s, s) == pytest.approx(0.0, abs=1e-6)


def test_closed_form_for_diagonal_gaussians():
    d = 5
    mu_a, mu_b = np.zeros(d), np.arange(d, dtype=float)
    va, vb = np.full(d, 4.0), np.arange(1, d + 1, dtype=float) ** 2
    a, b = GaussianStats(mu_a, np.diag(va), 100), GaussianStats(mu_b, np.diag(vb), 100)
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((np.sqrt(va) - np.sqrt(vb)) ** 2)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_agrees_with_scipy_sqrtm_formula():
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(4)
    a = gaussian_stats(rng.normal(size=(300, 12)))
    b = gaussian_stats(rng.normal(size=(300, 12)) @ rng.normal(size=(12, 12)) + 0.5)
    covmean = np.real(linalg.sqrtm(a.sigma @ b.sigma))  # pytorch-fid's computation
    ref = np.sum((a.mu - b.mu) ** 2) + np.trace(a.sigma) + np.trace(b.sigma) - 2 * np.trace(covmean)
    assert frechet_distance(a, b) == pytest.approx(ref, rel=1e-8)


def test_singular_covariances_stay_finite():
    rng = np.random.default_rng(5)
    a, b = gaussian_stats(rng.normal(size=(5, 64))), gaussian_stats(rng.normal(size=(5, 64)))  # rank 4
    assert np.isfinite(frechet_distance(a, b)) and frechet_distance(a, a) == pytest.approx(0.0, abs=1e-4)  # trace ~64


def test_shifted_samples_approach_shift():
    rng = np.random.default_rng(1)
    f = rng.normal(size=(4000, 3))
    assert frechet_distance(gaussian_stats(f), gaussian_stats(f + [1.0, 2.0, 0.0])) == pytest.approx(5.0, rel=1e-9)


def _brute_mmd2(x, y, gamma, coef0=1.0, degree=3):
    k = lambda a, b: (gamma * a @ b + coef0) ** degree  # noqa: E731
    m = len(x)
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_matches_brute_force():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(7, 4)), rng.normal(1.0, 1.0, size=(7, 4))
    mean, std = kernel_inception_distance(x, y, subsets=3, subset_size=100)  # subset = whole set, permuted
    assert mean == pytest.approx(_brute_mmd2(x, y, gamma=1 / 4), rel=1e-9)
    assert std == pytest.approx(0.0, abs=1e-9)


def test_kid_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(300, 8)), rng.normal(size=(300, 8))
    same, _ = kernel_inception_distance(a, b, subsets=20, subset_size=200)
    diff, _ = kernel_inception_distance(a, b + 1.0, subsets=20, subset_size=200)
    assert abs(same) < 0.01 < diff


def test_bad_features():
    with pytest.raises(ValueError, match="N >= 2"):
        gaussian_stats(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        gaussian_stats(np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="dimensions differ"):
        kernel_inception_distance(np.zeros((3, 2)), np.zeros((3, 4)))
