"""Pose and occlusion augmentation of a stored face before its sample is made (``data.rotate``, ``data.scale``,
``data.occluders``).

The synthetic training faces are upright, centred and unoccluded; real faces are not. A face (crop + its 68
landmarks) is rolled by up to ``rotate`` degrees and zoomed by up to ``scale`` about the crop centre (one
similarity map for image and landmarks, mirrored border: :mod:`stngan.data.motion`'s helpers), then, with
probability ``occluders``, gets a hand or a microphone over part of one mask circle
(:mod:`stngan.data.occluders`). The mask and the landmark condition are drawn afterwards from the transformed
landmarks exactly as for any face (:func:`stngan.data.sample.frame_sample`). Geometry and occluder draw from
their own generators, so enabling one never changes the other's draws, nor the flip / jitter / tone draws.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from stngan.data.motion import similarity_matrix, warp_image, warp_points
from stngan.data.occluders import draw_occluder

GEOMETRY_STREAM, OCCLUDER_STREAM = 1, 2  # last entry of the per-item seed [seed, epoch, index, stream]


@dataclass(frozen=True)
class FaceAugment:
    """Bounds of the augmentation: ``rotate`` max |roll| in degrees, ``scale`` max |zoom − 1|, ``occluders``
    probability of pasting one occluder. All 0: the face is returned untouched and nothing is drawn."""

    rotate: float = 0.0
    scale: float = 0.0
    occluders: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.rotate <= 180.0:
            raise ValueError(f"rotate must be in [0, 180] degrees, got {self.rotate}")
        if not 0.0 <= self.scale < 1.0:
            raise ValueError(f"scale must be in [0, 1), got {self.scale}")
        if not 0.0 <= self.occluders <= 1.0:
            raise ValueError(f"occluders must be in [0, 1], got {self.occluders}")

    @property
    def active(self) -> bool:
        return bool(self.rotate or self.scale or self.occluders)


def pose_matrix(rng: np.random.Generator, size: int, rotate: float, scale: float) -> np.ndarray:
    """(3, 3) similarity about the crop centre: roll uniform in ±``rotate`` degrees, zoom uniform in
    [1 − ``scale``, 1 + ``scale``]. Draws 2 uniforms."""
    u = rng.uniform(-1.0, 1.0, size=2)
    return similarity_matrix(size, 1.0 + float(u[1]) * scale, math.radians(float(u[0]) * rotate))


def posed(crop: np.ndarray, landmarks: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The face under ``matrix``: (H, W, 3) uint8 crop (mirrored border) and (68, 2) float32 landmarks."""
    assert crop.ndim == 3 and crop.shape[2] == 3 and landmarks.shape == (68, 2), (crop.shape, landmarks.shape)
    return warp_image(crop, matrix, reflect=True), warp_points(landmarks, matrix)


def augmented_face(crop: np.ndarray, landmarks: np.ndarray, aug: FaceAugment, seed: list[int]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(crop, landmarks) after ``aug``; ``seed`` (e.g. [seed, epoch, index]) fixes every draw."""
    crop, landmarks = np.asarray(crop), np.asarray(landmarks, dtype=np.float32)
    if aug.rotate or aug.scale:
        rng = np.random.default_rng([*seed, GEOMETRY_STREAM])
        crop, landmarks = posed(crop, landmarks, pose_matrix(rng, crop.shape[0], aug.rotate, aug.scale))
    if aug.occluders:
        rng = np.random.default_rng([*seed, OCCLUDER_STREAM])
        if rng.random() < aug.occluders:
            crop = draw_occluder(rng, crop, landmarks).paste(crop)
    return crop, landmarks
