"""Landmark control (paper Fig. 6): switch to another face's landmarks, or perturb them.

Both act on landmarks in crop coordinates, i.e. relative to the face's padded, square box, so another
face's landmarks are aligned to this face's box simply by taking them in their own crop coordinates.
Perturbation draws one fixed offset per landmark and track (seeded), so a video's perturbed face stays
temporally consistent instead of flickering.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stngan.errors import InputError
from stngan.faces.analyzer import FaceAnalyzer
from stngan.faces.crop import CropTransform
from stngan.faces.image_io import load_image


@dataclass
class LandmarkControl:
    replacement: np.ndarray | None = None  # (68, 2) crop coordinates at `replacement_size`
    replacement_size: int = 128
    perturb_sigma: float = 0.0  # crop pixels at the 128-px scale
    seed: int = 0
    _offsets: dict[int, np.ndarray] = field(default_factory=dict)

    def apply(self, crop_landmarks: np.ndarray, track: int, size: int) -> np.ndarray:
        """(68, 2) landmarks in a size×size crop → the landmarks to condition on."""
        lm = crop_landmarks
        if self.replacement is not None:
            lm = self.replacement * (size / self.replacement_size)
        if self.perturb_sigma > 0:
            if track not in self._offsets:
                rng = np.random.default_rng([self.seed, track])
                self._offsets[track] = rng.normal(0.0, self.perturb_sigma, size=(68, 2))
            lm = lm + self._offsets[track] * (size / 128.0)
        return lm.astype(np.float32)


def landmark_control(landmarks_from: Path | None, perturb: float, seed: int, size: int) -> LandmarkControl:
    """Control from CLI options: another face's landmarks taken from an image (its largest face)."""
    replacement = None
    if landmarks_from is not None:
        faces = FaceAnalyzer().analyze(load_image(landmarks_from))
        if not faces:
            raise InputError(f"--landmarks-from {landmarks_from}: no face found")
        ct = CropTransform.from_box(faces[0].box, size=size)
        replacement = ct.to_crop(faces[0].landmarks)
    return LandmarkControl(replacement, size, perturb, seed)
