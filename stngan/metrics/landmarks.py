"""Landmark adherence: normalised mean error between the conditioning landmarks and dlib's on the output.

NME = mean_k ||p_k - t_k|| / ||t_36 - t_45|| over the inner points k = 27..67 (nose, eyes, mouth: the
masked features), with t the conditioning landmarks and p dlib's 68-point prediction on the output crop,
normalised by the outer-eye-corner (inter-ocular) distance of t, the 300-W convention. dlib predicts
inside a fixed box, the face box the crop was cut from, so detection failures cannot drop faces and the
box is the same for the original and every output.
"""
from __future__ import annotations

import numpy as np

from stngan.faces.box import Box
from stngan.faces.landmarks import LandmarkPredictor

INNER_POINTS = range(27, 68)
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 36, 45


def nme(pred: np.ndarray, target: np.ndarray, points: range | list[int] = INNER_POINTS) -> np.ndarray:
    """(N,) float64 NME of (N, 68, 2) predictions against (N, 68, 2) targets (see module doc)."""
    p, t = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    if p.shape != t.shape or p.ndim != 3 or p.shape[1:] != (68, 2):
        raise ValueError(f"pred and target must both be (N, 68, 2), got {p.shape} and {t.shape}")
    norm = np.linalg.norm(t[:, RIGHT_EYE_OUTER] - t[:, LEFT_EYE_OUTER], axis=1)
    if (norm <= 0).any():
        raise ValueError(f"target {int(np.argmax(norm <= 0))} has coincident eye corners")
    idx = list(points)
    return np.linalg.norm(p[:, idx] - t[:, idx], axis=2).mean(axis=1) / norm


def crop_face_box(size: int = 128, pad: float = 0.2) -> Box:
    """The detector box a ``size`` crop with padding ``pad`` was cut from, in crop pixels (centred)."""
    side = size / (1.0 + 2.0 * pad)
    c = size / 2.0 - 0.5
    return Box(c - side / 2.0, c - side / 2.0, c + side / 2.0, c + side / 2.0)


def predict_on_crops(predictor: LandmarkPredictor, crops: np.ndarray, box: Box) -> np.ndarray:
    """(N, 68, 2) float32 dlib landmarks of (N, S, S, 3) uint8 crops, all inside ``box``."""
    return np.stack([predictor.predict(c, box) for c in crops]) if len(crops) else np.zeros((0, 68, 2), np.float32)
