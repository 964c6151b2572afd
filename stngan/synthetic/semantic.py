"""Semantic edits of w+: random multiples of the pose / expression directions, shared by stills and walks.

One table of per-attribute amplitudes (in standard deviations of the FFHQ sample, :mod:`.directions`) and one
function that adds ``coef @ directions`` to the w+ rows that carry pose and expression (rows
[0, ``SEMANTIC_ROWS``); the finer rows hold colours and skin texture and stay untouched). The video walks
(:mod:`.walks`) move along them per keyframe; stills (:func:`stngan.synthetic.prepare.generate_images` with
``spread``) take one draw per image.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from stngan.synthetic.directions import Directions

SEMANTIC_AMPLITUDES: tuple[tuple[str, float], ...] = (
    ("yaw", 1.5), ("pitch", 1.0), ("mouth_open", 1.2), ("smile", 1.0), ("eyes_open", 0.7))
SEMANTIC_ROWS = 11  # w+ rows [0, 11): pose, face shape, features and expression
SEMANTIC_CLIP = 2.5  # draws are clipped to ± this many of their standard deviations


def direction_matrix(directions: Directions, amplitudes: tuple[tuple[str, float], ...] = SEMANTIC_AMPLITUDES
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(A, 512) float32 direction vectors and (A,) float32 amplitudes, in the order of ``amplitudes``."""
    vecs = np.stack([directions[name] for name, _ in amplitudes]).astype(np.float32)
    amps = np.array([a for _, a in amplitudes], np.float32)
    return vecs, amps


def draw_coefficients(rng: np.random.Generator, n: int, amps: np.ndarray, clip: float = SEMANTIC_CLIP,
                      scale: float = 1.0) -> np.ndarray:
    """(n, A) float32 multiples of the directions: N(0, 1) clipped to ±``clip``, times ``scale`` × ``amps``.

    Draws n·A standard normals from ``rng`` (in this order: row by row)."""
    coef = np.clip(rng.standard_normal((n, len(amps))), -clip, clip).astype(np.float32) * amps
    return coef * np.float32(scale) if scale != 1.0 else coef


def add_semantic(wplus: np.ndarray, coef: np.ndarray, vecs: np.ndarray, rows: int = SEMANTIC_ROWS) -> np.ndarray:
    """w+ (N, L, 512) with ``coef`` (N, A) × ``vecs`` (A, 512) added to rows [0, rows); in place, returned."""
    assert wplus.ndim == 3 and coef.shape == (wplus.shape[0], vecs.shape[0]) and vecs.shape[1] == wplus.shape[2], \
        (wplus.shape, coef.shape, vecs.shape)
    assert 0 <= rows <= wplus.shape[1], (rows, wplus.shape)
    wplus[:, :rows] += (coef @ vecs)[:, None, :]
    return wplus


def spread_wplus(w: np.ndarray, num_layers: int, directions: Directions, rng: np.random.Generator,
                 spread: float) -> np.ndarray:
    """(N, 512) w -> (N, L, 512) w+ moved by one random semantic draw per face, σ = ``spread`` × amplitude
    (clipped at ``SEMANTIC_CLIP`` σ)."""
    assert w.ndim == 2, w.shape
    vecs, amps = direction_matrix(directions)
    coef = draw_coefficients(rng, w.shape[0], amps, scale=spread)
    wplus = np.repeat(np.asarray(w, np.float32)[:, None, :], num_layers, axis=1)
    return add_semantic(wplus, coef, vecs)
