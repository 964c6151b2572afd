"""A one-euro filter (Casiez, Roussel & Vogel, CHI 2012) for landmark tracks: little smoothing when the
points move fast (a blink, a syllable: no lag), strong smoothing when they hold still (no jitter).

Positions are filtered in units of the face's inter-ocular distance, so the same settings hold for a face
of 40 px and one of 400 px; time is in frames of the nominal rate ``rate``.
"""
from __future__ import annotations

import math

import numpy as np

MIN_CUTOFF_HZ = 3.0  # cut-off when still
BETA = 20.0  # cut-off increase (Hz) per inter-ocular distance per second of speed: a blink passes within a frame
DERIVATIVE_CUTOFF_HZ = 2.0


def _alpha(cutoff: float, dt: float) -> float:
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuro:
    """Filters (N, 2) point sets of one track, one call per frame in order."""

    def __init__(self, rate: float = 25.0, min_cutoff: float = MIN_CUTOFF_HZ, beta: float = BETA,
                 d_cutoff: float = DERIVATIVE_CUTOFF_HZ) -> None:
        self.dt, self.min_cutoff, self.beta, self.d_cutoff = 1.0 / rate, min_cutoff, beta, d_cutoff
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None

    def __call__(self, points: np.ndarray, unit: float) -> np.ndarray:
        p = np.asarray(points, np.float64) / max(unit, 1e-6)
        if self.x is None:
            self.x, self.dx = p, np.zeros_like(p)
            return p * unit
        dx = (p - self.x) / self.dt
        self.dx = self.dx + _alpha(self.d_cutoff, self.dt) * (dx - self.dx)
        speed = np.linalg.norm(self.dx, axis=-1, keepdims=True)
        a = 1.0 / (1.0 + 1.0 / (2 * math.pi * (self.min_cutoff + self.beta * speed) * self.dt))  # _alpha, per point
        self.x = self.x + a * (p - self.x)
        return self.x * unit
