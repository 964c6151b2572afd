"""Distances between two sets of features: Fréchet distance (FID's formula) and the kernel distance (KID).

Used with Inception pool3 features (FID / KID, paper 4.2) and with dlib's 128-D face embeddings
(FD-dlib / KID-dlib, this project's offline face-specific distance).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GaussianStats:
    """Mean (D,) and covariance (D, D) of n feature vectors, float64."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int


def _check_features(f: np.ndarray, name: str, min_rows: int = 2) -> np.ndarray:
    a = np.asarray(f, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < min_rows:
        raise ValueError(f"{name} must be (N, D) with N >= {min_rows}, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    return a


def gaussian_stats(features: np.ndarray) -> GaussianStats:
    """Mean and unbiased covariance (np.cov, as pytorch-fid) of (N, D) features, N >= 2."""
    f = _check_features(features, "features")
    return GaussianStats(f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1]), len(f))


def _psd_sqrt(m: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (negative eigenvalues clipped)."""
    w, v = np.linalg.eigh((m + m.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(a: GaussianStats, b: GaussianStats) -> float:
    """||mu_a - mu_b||^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2)).

    The trace term is computed as tr((R S_b R)^(1/2)) with R = S_a^(1/2): S_a S_b is similar to the
    symmetric PSD matrix R S_b R, so both have the same (real, non-negative) eigenvalues. This needs only
    numpy's symmetric eigensolver and stays finite for singular covariances (few samples, many
    dimensions), where pytorch-fid's scipy.linalg.sqrtm needs an epsilon fallback; the two agree to
    numerical precision otherwise (tested).
    """
    if a.mu.shape != b.mu.shape:
        raise ValueError(f"feature dimensions differ: {a.mu.shape[0]} and {b.mu.shape[0]}")
    diff = a.mu - b.mu
    r = _psd_sqrt(a.sigma)
    eig = np.linalg.eigvalsh(r @ b.sigma @ r)
    trace_sqrt = float(np.sqrt(np.clip(eig, 0.0, None)).sum())
    return float(diff @ diff + np.trace(a.sigma) + np.trace(b.sigma) - 2.0 * trace_sqrt)


def _poly_mmd2(x: np.ndarray, y: np.ndarray, degree: int, gamma: float, coef0: float) -> float:
    """Unbiased MMD^2 with the kernel k(a, b) = (gamma a.b + coef0)^degree between equal-size sets."""
    m = len(x)
    kxx = (gamma * x @ x.T + coef0) ** degree
    kyy = (gamma * y @ y.T + coef0) ** degree
    kxy = (gamma * x @ y.T + coef0) ** degree
    off = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(off - 2.0 * kxy.mean())


def kernel_inception_distance(a: np.ndarray, b: np.ndarray, subsets: int = 100, subset_size: int = 1000,
                              degree: int = 3, gamma: float | None = None, coef0: float = 1.0,
                              seed: int = 0) -> tuple[float, float]:
    """KID (Binkowski et al. 2018) between (N_a, D) and (N_b, D) features: (mean, std) over subsets.

    torch-fidelity's defaults: cubic polynomial kernel with gamma = 1/D, ``subsets`` random subsets of
    ``min(subset_size, N_a, N_b)`` rows drawn without replacement from each set (seeded), unbiased MMD^2.
    Unlike FID it is unbiased for small sets, so it is reported beside FID for small test sets.
    """
    x, y = _check_features(a, "features a"), _check_features(b, "features b")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature dimensions differ: {x.shape[1]} and {y.shape[1]}")
    m = min(subset_size, len(x), len(y))
    g = 1.0 / x.shape[1] if gamma is None else gamma
    rng = np.random.default_rng(seed)
    values = np.array([_poly_mmd2(x[rng.choice(len(x), m, replace=False)], y[rng.choice(len(y), m, replace=False)],
                                  degree, g, coef0) for _ in range(subsets)])
    return float(values.mean()), float(values.std())
