"""Random tone changes (darker / lighter, less / more saturated, slightly tinted) of whole training faces.

Why: the offline training faces (MobileStyleGAN, FFHQ-like) are lighter than real test sets — the median
luminance of the face centre is 143 grey levels on the synthetic store and 124 on the NBA head shots, whose
darkest 10 % sit below 85, where only 1 % of the synthetic faces are. Without darker faces in training
the shipped model painted magenta patches on dark skin. One draw per sample (per window for STN, so
every frame of a window gets the same tone); the background changes with the face, as in a darker photo.

Mode "skin" (``data.tone_mode``) spares the eye openings and the inner mouth: sclera and teeth do not darken
with the skin. Darkening a light face as a whole gives dark teeth and eyes, and a model trained on that paints
a dark mouth where a dark-skinned face shows its teeth (on the NBA head shots the fill of open mouths was
22 L* darker than the teeth it replaced, eyes 3 L*). There the brightness is at least ``BRIGHT_PART_FLOOR``.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

BRIGHTNESS = (0.35, 1.1)
SATURATION = (0.7, 1.3)
TINT = 0.08  # per-channel gain 1 ± TINT
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
BRIGHT_PART_FLOOR = 0.85  # "skin" mode: eye openings and inner mouth darken at most to this factor
BRIGHT_PART_POLYGONS = (slice(36, 42), slice(42, 48), slice(60, 68))  # 68-point eyes and inner lips
BRIGHT_PART_SOFTEN = 1.0  # px, Gaussian sigma of the parts' edge


def bright_parts(landmarks: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W) float32 in [0, 1]: 1 inside the eye openings and the inner mouth of 68 landmarks (crop px),
    softened at the edge; what "skin" mode keeps bright."""
    canvas = np.zeros((height, width), dtype=np.uint8)
    scale = 16  # sub-pixel polygon corners (cv2 shift = 4 bits)
    polys = [np.round(np.asarray(landmarks[s], dtype=np.float64) * scale).astype(np.int32) for s in BRIGHT_PART_POLYGONS]
    cv2.fillPoly(canvas, polys, 255, lineType=cv2.LINE_AA, shift=4)
    return cv2.GaussianBlur(canvas.astype(np.float32) / 255.0, (0, 0), BRIGHT_PART_SOFTEN)


@dataclass(frozen=True)
class Tone:
    brightness: float
    saturation: float
    gains: tuple[float, float, float]

    @staticmethod
    def draw(rng: np.random.Generator, probability: float) -> "Tone | None":
        """None (unchanged) with probability 1 − `probability`; draws nothing when `probability` is 0."""
        if probability <= 0 or rng.random() >= probability:
            return None
        b, s = rng.uniform(*BRIGHTNESS), rng.uniform(*SATURATION)
        g = 1.0 + rng.uniform(-TINT, TINT, size=3)
        return Tone(float(b), float(s), (float(g[0]), float(g[1]), float(g[2])))

    def apply(self, x: np.ndarray, parts: np.ndarray | None = None) -> np.ndarray:
        """(3, H, W) float32 in [−1, 1] → the same, toned and clipped to [−1, 1]; ``parts`` (H, W) in
        [0, 1] (:func:`bright_parts`) darkens at most to BRIGHT_PART_FLOOR where it is 1."""
        v = (x + 1.0) * 0.5
        grey = np.tensordot(LUMA, v, axes=1)[None]
        v = grey + self.saturation * (v - grey)
        brightness = np.float32(self.brightness)
        if parts is not None:
            brightness = brightness + (max(self.brightness, BRIGHT_PART_FLOOR) - brightness) * parts[None]
        v = v * brightness * np.asarray(self.gains, dtype=np.float32)[:, None, None]
        return (np.clip(v, 0.0, 1.0) * 2.0 - 1.0).astype(np.float32)


def toned(sample: dict[str, np.ndarray], tone: Tone | None) -> dict[str, np.ndarray]:
    """A frame sample (x, mask, x_hat, cond; optional ``parts`` from :func:`bright_parts`, dropped here) with x
    toned and x_hat recomputed from it."""
    parts = sample.get("parts")
    sample = {k: v for k, v in sample.items() if k != "parts"}
    if tone is None:
        return sample
    x = tone.apply(sample["x"], None if parts is None else parts[0])
    return {**sample, "x": x, "x_hat": x * (1.0 - sample["mask"])}
