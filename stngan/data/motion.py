"""Known-motion windows: a still face moved, zoomed and rotated smoothly over T frames, with the exact flow.

Real face video is scarce offline; motion whose flow is known exactly is free. Each window draws one
similarity motion at constant velocity: per frame a translation (dx, dy), a scale factor s and a rotation θ
about the crop centre c. Frame t (k = t − (T−1)/2, so the still sits at the middle of the window) is the
still warped by

    A_t = translate(c + k·(dx, dy)) · rotate(k·θ) · scale(s^k) · translate(−c)        (still → frame t)

and its landmarks are A_t applied to the still's. The backward flow of frame t ≥ 1 is exact:
pixel p of frame t shows the point that sits at q = A_{t−1}·A_t⁻¹·p in frame t−1, flow_t(p) = q − p (the
convention of :mod:`stngan.metrics.flicker`); ``valid_t`` keeps the pixels whose q lies inside the crop.
Frame 0 has zero flow and nothing valid. An optional brightness drift multiplies frame t by gain g^k in
[0, 1] space, so consecutive frames differ by the known factor g (returned per frame as ``gain``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Motion:
    """One window's motion per frame: shift in crop px, scale factor, rotation in radians, brightness gain."""

    dx: float = 0.0
    dy: float = 0.0
    scale: float = 1.0
    angle: float = 0.0
    gain: float = 1.0

    @staticmethod
    def draw(rng: np.random.Generator, size: int, shift: float, zoom: float, rotate: float,
             brightness: float) -> "Motion":
        """Uniform per-frame velocities: shift ± ``shift``·size px per axis, scale in [1 − zoom, 1 + zoom],
        rotation ± ``rotate`` degrees, gain in [1 − brightness, 1 + brightness]. Draws 5 uniforms."""
        u = rng.uniform(-1.0, 1.0, size=5)
        return Motion(dx=float(u[0] * shift * size), dy=float(u[1] * shift * size), scale=float(1.0 + u[2] * zoom),
                      angle=float(math.radians(u[3] * rotate)), gain=float(1.0 + u[4] * brightness))

    def matrices(self, T: int, size: int) -> np.ndarray:
        """(T, 3, 3) float64 homogeneous still → frame t maps (module doc)."""
        out = np.empty((T, 3, 3))
        for t in range(T):
            k = t - (T - 1) / 2.0
            out[t] = similarity_matrix(size, self.scale ** k, self.angle * k, k * self.dx, k * self.dy)
        return out

    def gains(self, T: int) -> np.ndarray:
        """(T,) float32 brightness factor of each frame relative to the still."""
        return np.array([self.gain ** (t - (T - 1) / 2.0) for t in range(T)], dtype=np.float32)


def similarity_matrix(size: int, scale: float, angle: float, dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    """(3, 3) float64 map: scale by ``scale`` and rotate by ``angle`` radians about the centre of a ``size`` px
    crop, then shift by (dx, dy) px."""
    c = (size - 1) / 2.0
    rs = scale * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    out = np.eye(3)
    out[:2, :2] = rs
    out[:2, 2] = np.array([c + dx, c + dy]) - rs @ np.array([c, c])
    return out


def warp_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(N, 2) points through a (3, 3) homogeneous affine map, float32."""
    p = np.asarray(points, dtype=np.float64)
    return (p @ matrix[:2, :2].T + matrix[:2, 2]).astype(np.float32)


def warp_image(img: np.ndarray, matrix: np.ndarray, reflect: bool = False) -> np.ndarray:
    """(H, W, 3) uint8 still → the frame under ``matrix``; bilinear, edges replicated (as the crops are) or,
    with ``reflect``, mirrored (large rotations: a replicated edge would smear streaks into the corners)."""
    h, w = img.shape[:2]
    border = cv2.BORDER_REFLECT_101 if reflect else cv2.BORDER_REPLICATE
    return cv2.warpAffine(np.ascontiguousarray(img), matrix[:2], (w, h), flags=cv2.INTER_LINEAR, borderMode=border)


def backward_flows(matrices: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact backward flow (T, 2, H, W) float32 and its validity (T, 1, H, W) float32 {0, 1} (module doc)."""
    T = len(matrices)
    gx, gy = np.meshgrid(np.arange(size, dtype=np.float64), np.arange(size, dtype=np.float64))
    pix = np.stack([gx.ravel(), gy.ravel(), np.ones(gx.size)])  # (3, H·W)
    flow = np.zeros((T, 2, size, size), dtype=np.float32)
    valid = np.zeros((T, 1, size, size), dtype=np.float32)
    for t in range(1, T):
        q = (matrices[t - 1] @ np.linalg.inv(matrices[t]) @ pix)[:2]
        flow[t] = (q - pix[:2]).reshape(2, size, size)
        inside = (q[0] >= 0) & (q[0] <= size - 1) & (q[1] >= 0) & (q[1] <= size - 1)
        valid[t, 0] = inside.reshape(size, size)
    return flow, valid


def apply_gain(x: np.ndarray, gain: float) -> np.ndarray:
    """(3, H, W) float32 in [−1, 1] times ``gain`` in [0, 1] space, clipped."""
    if gain == 1.0:
        return x
    return (np.clip((x + 1.0) * 0.5 * gain, 0.0, 1.0) * 2.0 - 1.0).astype(np.float32)
