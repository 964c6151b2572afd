"""Synthetic occluders pasted over part of a mask circle: a skin-toned hand or a dark microphone.

Real footage has hands and microphones in front of faces; the synthetic training faces never do. An occluder
is pasted into the crop BEFORE the sample is made, so it belongs to the ground truth: outside the mask the model
sees it, inside it must continue it. Shapes are analytic (union of ellipses / a capsule and a ball) with a
one-pixel anti-aliased edge; sizes follow the inter-ocular distance (iod). Every occluder pixel lies within
``REACH_IOD`` × iod of the mask circle it overlaps and reaches into that circle (measured: 4-38 % of its area
covered), so it always hides part of the hole and never all of it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from stngan.faces.masks import Circle, mask_geometry, rasterize

REACH_IOD = 1.7  # occluder pixels lie at most this many iods outside the circle they overlap
SKIN_RING_PX = (2.0, 8.0)  # the skin colour is taken this far outside the (unjittered) mask
HAND_SHARE = 0.6  # hands vs microphones
KINDS = ("hand", "microphone")
MIN_VISIBLE_IOD2 = 0.05  # visible area outside the mask, in iod² (~60 px² at iod 35)
TRIES = 8


@dataclass(frozen=True)
class Occluder:
    """One pasted occluder: coverage ``alpha`` (H, W) float32 in [0, 1], its ``colour`` (H, W, 3) float32 in
    0-255, the ``kind`` and the mask ``circle`` it overlaps."""

    kind: str
    circle: Circle
    alpha: np.ndarray
    colour: np.ndarray

    def paste(self, crop: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 crop with the occluder composited; pixels with alpha 0 are unchanged."""
        assert crop.shape == self.colour.shape and crop.dtype == np.uint8, (crop.shape, crop.dtype)
        a = self.alpha[..., None]
        out = crop.astype(np.float32) * (1.0 - a) + self.colour * a
        return np.where(a > 0, np.clip(np.rint(out), 0, 255), crop).astype(np.uint8)


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    gy, gx = np.mgrid[0:size, 0:size].astype(np.float32)
    return gx, gy


def _ellipse(gx: np.ndarray, gy: np.ndarray, centre: np.ndarray, axis: np.ndarray, a: float, b: float) -> np.ndarray:
    """Coverage of an ellipse with semi-axes a (along the unit vector ``axis``) and b; ~1 px soft edge."""
    dx, dy = gx - centre[0], gy - centre[1]
    u = dx * axis[0] + dy * axis[1]
    v = -dx * axis[1] + dy * axis[0]
    q = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    return np.clip(0.5 - (q - 1.0) * min(a, b), 0.0, 1.0)


def _capsule(gx: np.ndarray, gy: np.ndarray, p: np.ndarray, q: np.ndarray, radius: float) -> np.ndarray:
    """Coverage of the points within ``radius`` of the segment p-q."""
    d = q - p
    t = np.clip(((gx - p[0]) * d[0] + (gy - p[1]) * d[1]) / float(d @ d), 0.0, 1.0)
    dist = np.hypot(gx - (p[0] + t * d[0]), gy - (p[1] + t * d[1]))
    return np.clip(0.5 - (dist - radius), 0.0, 1.0)


def _disc(gx: np.ndarray, gy: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    return np.clip(0.5 - (np.hypot(gx - centre[0], gy - centre[1]) - radius), 0.0, 1.0)


def _rotated(u: np.ndarray, degrees: float) -> np.ndarray:
    a = math.radians(degrees)
    return np.array([u[0] * math.cos(a) - u[1] * math.sin(a), u[0] * math.sin(a) + u[1] * math.cos(a)], np.float32)


def skin_colour(crop: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(3,) float32 median RGB of the visible skin 2-8 px outside the face's mask circles."""
    h, w = crop.shape[:2]
    outside = 1 - rasterize(mask_geometry(landmarks), h, w)
    dist = cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_5)
    ring = (dist >= SKIN_RING_PX[0]) & (dist <= SKIN_RING_PX[1])
    pixels = crop[ring] if ring.any() else crop.reshape(-1, 3)
    return np.median(pixels, axis=0).astype(np.float32)


def _hand(rng: np.random.Generator, circle: Circle, iod: float, size: int, skin: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """A palm and four fingers coming from direction ``u`` (random) with the fingertips inside the circle."""
    gx, gy = _grid(size)
    phi, depth = rng.uniform(0, 2 * math.pi), rng.uniform(0.4, 1.3)          # depth: tips reach in, × radius
    spread, tint = rng.uniform(8, 20), rng.uniform(0.94, 1.06, size=3)       # finger fan (degrees), skin tint
    u = np.array([math.cos(phi), math.sin(phi)], np.float32)               # from the circle centre outwards
    c = np.array([circle.cx, circle.cy], np.float32)
    tip = c + u * (circle.r * (1.0 - depth))
    finger_len, finger_w = 0.3 * iod * rng.uniform(0.85, 1.1), 0.085 * iod
    side = np.array([-u[1], u[0]], np.float32)
    alpha = np.zeros((size, size), np.float32)
    for k, off in enumerate((-1.5, -0.5, 0.5, 1.5)):
        direction = _rotated(u, (k - 1.5) * spread / 3)                      # fingers fan out a little
        base_tip = tip + side * (off * 2.1 * finger_w) + u * (abs(off) * 0.08 * iod)
        alpha = np.maximum(alpha, _ellipse(gx, gy, base_tip + direction * finger_len, direction, finger_len,
                                           finger_w))
    palm = tip + u * (2 * finger_len + 0.3 * iod)
    alpha = np.maximum(alpha, _ellipse(gx, gy, palm, u, 0.4 * iod, 0.36 * iod))
    # shading: light falls from one side across the hand, edges darker (the hand curves away)
    light = _rotated(u, rng.uniform(-90, 90))
    ramp = np.clip(((gx - palm[0]) * light[0] + (gy - palm[1]) * light[1]) / iod, -1, 1)
    interior = cv2.GaussianBlur(alpha, (0, 0), 0.06 * iod)
    shade = (1.0 + 0.12 * ramp) * (0.78 + 0.22 * interior)
    colour = skin[None, None, :] * tint[None, None, :].astype(np.float32) * shade[..., None]
    return alpha, colour


def _microphone(rng: np.random.Generator, circle: Circle, iod: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A mesh ball overlapping the circle on a dark handle pointing away from it (mostly downwards)."""
    gx, gy = _grid(size)
    phi = math.radians(90 + rng.uniform(-60, 60))                           # image y points down
    u = np.array([math.cos(phi), math.sin(phi)], np.float32)
    c = np.array([circle.cx, circle.cy], np.float32)
    head_r = 0.3 * iod * rng.uniform(0.85, 1.15)
    head = c + u * (circle.r + head_r * (1.0 - 2 * rng.uniform(0.3, 0.9)))  # dips 0.6-1.8 head radii into it
    handle_end = head + u * iod * rng.uniform(0.7, 1.0)
    ball, handle = _disc(gx, gy, head, head_r), _capsule(gx, gy, head, handle_end, 0.11 * iod)
    alpha = np.maximum(ball, handle)
    body, mesh = rng.uniform(15, 45), rng.uniform(45, 90)
    grey = np.where(ball > 0, mesh, body).astype(np.float32)
    grey += 6.0 * (((gx // 2 + gy // 2) % 2) * 2 - 1) * (ball > 0)          # wire mesh
    highlight = _rotated(u, 180 + rng.uniform(-40, 40)) * 0.45 * head_r
    grey += 70.0 * np.exp(-((gx - head[0] - highlight[0]) ** 2 + (gy - head[1] - highlight[1]) ** 2)
                          / (2 * (0.35 * head_r) ** 2)) * (ball > 0)
    return alpha, np.repeat(np.clip(grey, 0, 255)[..., None], 3, axis=2)


def draw_occluder(rng: np.random.Generator, crop: np.ndarray, landmarks: np.ndarray) -> Occluder:
    """A random hand (over any mask circle) or microphone (over the mouth circle) for this face.

    An occluder hidden under the mask would be invisible in the model's input, so a draw whose part outside
    the mask is under ``MIN_VISIBLE_IOD2`` iod² is redrawn (up to ``TRIES`` times; the last one is kept)."""
    size = crop.shape[0]
    assert crop.shape == (size, size, 3) and landmarks.shape == (68, 2), (crop.shape, landmarks.shape)
    geometry = mask_geometry(landmarks)
    circles, hole = geometry.circles, rasterize(geometry, size, size).astype(bool)  # right eye, left eye, nose, mouth
    iod = max(float(np.linalg.norm(landmarks[36:42].mean(0) - landmarks[42:48].mean(0))), 0.1 * size)
    skin = skin_colour(crop, landmarks)
    gx, gy = _grid(size)
    for _ in range(TRIES):
        if rng.random() < HAND_SHARE:
            circle = circles[int(rng.integers(len(circles)))]
            kind, (alpha, colour) = "hand", _hand(rng, circle, iod, size, skin)
        else:
            circle = circles[3]
            kind, (alpha, colour) = "microphone", _microphone(rng, circle, iod, size)
        alpha = alpha * (np.hypot(gx - circle.cx, gy - circle.cy) <= circle.r + REACH_IOD * iod)
        if alpha[~hole].sum() >= MIN_VISIBLE_IOD2 * iod * iod:
            break
    return Occluder(kind, circle, alpha.astype(np.float32), colour.astype(np.float32))
