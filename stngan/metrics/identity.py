"""Identity distance test (paper 4.4, Fig. 7): does the inpainted face come back to its owner's identity?

For image i of identity k with images I_k (|I_k| >= 2), embeddings e(.):
  d_orig(i)  = mean_{j in I_k, j != i} ||e(x_i) - e(x_j)||   (the original vs the person's other images)
  d_inp(i)   = mean_{j in I_k, j != i} ||e(y_i) - e(x_j)||   (the inpainted version vs the same images)
Per identity the mean and standard deviation over its images are reported; inpainting that does not
restore identity has d_inp > d_orig. :func:`self_distance` (||e(y_i) - e(x_i)||) needs no second image.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class IdentityDistances:
    """Per identity k (K,) arrays: id, image count, mean and std of d_orig and of d_inp over its images."""

    identity: np.ndarray
    count: np.ndarray
    original_mean: np.ndarray
    original_std: np.ndarray
    inpainted_mean: np.ndarray
    inpainted_std: np.ndarray

    @property
    def fraction_farther(self) -> float:
        """Share of identities whose inpainted faces are farther from the person than the originals (nan: none)."""
        return float(np.mean(self.inpainted_mean > self.original_mean)) if len(self.identity) else float("nan")


def _check(ref: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r, o = np.asarray(ref, np.float64), np.asarray(out, np.float64)
    if r.ndim != 2 or r.shape != o.shape:
        raise ValueError(f"embeddings must be two (N, D) arrays of one shape, got {r.shape} and {o.shape}")
    return r, o


def identity_distances(ref: np.ndarray, out: np.ndarray, identities: np.ndarray) -> IdentityDistances:
    """ref, out: (N, D) embeddings of the originals and their inpainted versions; identities (N,) int
    (negative = unknown, skipped). Identities with fewer than 2 images are skipped."""
    r, o = _check(ref, out)
    ids = np.asarray(identities)
    if ids.shape != (len(r),):
        raise ValueError(f"identities must be ({len(r)},), got {ids.shape}")
    rows = []
    for k in np.unique(ids[ids >= 0]):
        idx = np.flatnonzero(ids == k)
        if len(idx) < 2:
            continue
        dr = np.linalg.norm(r[idx][:, None] - r[idx][None], axis=-1)  # (n, n), zero diagonal
        do = np.linalg.norm(o[idx][:, None] - r[idx][None], axis=-1)
        off = ~np.eye(len(idx), dtype=bool)
        d_orig = (dr * off).sum(1) / (len(idx) - 1)
        d_inp = (do * off).sum(1) / (len(idx) - 1)
        rows.append((k, len(idx), d_orig.mean(), d_orig.std(), d_inp.mean(), d_inp.std()))
    cols = list(zip(*rows)) if rows else [()] * 6
    return IdentityDistances(*(np.array(c, dtype=np.int64 if i < 2 else np.float64) for i, c in enumerate(cols)))


def self_distance(ref: np.ndarray, out: np.ndarray) -> np.ndarray:
    """(N,) ||e(y_i) - e(x_i)||: how far each inpainted face is from its own original."""
    r, o = _check(ref, out)
    return np.linalg.norm(o - r, axis=1)
