"""Random tone changes (darker / lighter, less / more saturated, slightly tinted) of whole training faces.

Why: the offline training faces (MobileStyleGAN, FFHQ-like) are lighter than real test sets — the median
luminance of the face centre is 143 grey levels on the synthetic store and 124 on the NBA head shots, whose
darkest 10 % sit below 85, where only 1 % of the synthetic faces are. Without darker faces in training
the shipped model painted magenta patches on dark skin. One draw per sample (per window for STN, so
every frame of a window gets the same tone); the background changes with the face, as in a darker photo.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BRIGHTNESS = (0.35, 1.1)
SATURATION = (0.7, 1.3)
TINT = 0.08  # per-channel gain 1 ± TINT
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


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

    def apply(self, x: np.ndarray) -> np.ndarray:
        """(3, H, W) float32 in [−1, 1] → the same, toned and clipped to [−1, 1]."""
        v = (x + 1.0) * 0.5
        grey = np.tensordot(LUMA, v, axes=1)[None]
        v = grey + self.saturation * (v - grey)
        v = v * (self.brightness * np.asarray(self.gains, dtype=np.float32))[:, None, None]
        return (np.clip(v, 0.0, 1.0) * 2.0 - 1.0).astype(np.float32)


def toned(sample: dict[str, np.ndarray], tone: Tone | None) -> dict[str, np.ndarray]:
    """A frame sample (x, mask, x_hat, cond) with x toned and x_hat recomputed from it."""
    if tone is None:
        return sample
    x = tone.apply(sample["x"])
    return {**sample, "x": x, "x_hat": x * (1.0 - sample["mask"])}
