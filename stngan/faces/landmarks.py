"""68-point facial landmarks (iBUG 300-W layout) predicted with dlib's shape predictor.

Index groups are ``range`` objects (immutable, usable directly as numpy indices: ``lm[MOUTH]``). "Right" and
"left" are the subject's: the right eye appears on the image's left (smaller x) in an unmirrored photo.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from stngan.faces.box import Box
from stngan.faces.image_io import ensure_rgb_uint8
from stngan.weights import require

if TYPE_CHECKING:
    import dlib

N_LANDMARKS = 68
JAW = range(0, 17)
RIGHT_BROW = range(17, 22)
LEFT_BROW = range(22, 27)
NOSE = range(27, 36)
NOSE_BRIDGE = range(27, 31)
NOSE_BOTTOM = range(31, 36)
RIGHT_EYE = range(36, 42)
LEFT_EYE = range(42, 48)
MOUTH = range(48, 68)
MOUTH_OUTER = range(48, 60)
MOUTH_INNER = range(60, 68)


def _flip_permutation() -> np.ndarray:
    """Index map so that ``flipped[i] = mirrored(landmarks[perm[i]])`` keeps the iBUG semantics."""
    pairs = [(j, 16 - j) for j in range(8)]  # jaw
    pairs += [(17 + k, 26 - k) for k in range(5)]  # brows
    pairs += [(31, 35), (32, 34)]  # nostrils
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]  # outer lips
    pairs += [(60, 64), (61, 63), (65, 67)]  # inner lips
    perm = np.arange(N_LANDMARKS)
    for a, b in pairs:
        perm[a], perm[b] = b, a
    perm.flags.writeable = False
    return perm


FLIP_PERMUTATION = _flip_permutation()


def check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """Validate a (68, 2) array of finite (x, y) and return it as float64 (a copy only if needed)."""
    lm = np.asarray(landmarks)
    if lm.shape != (N_LANDMARKS, 2) or not np.issubdtype(lm.dtype, np.number):
        raise ValueError(f"landmarks must be a numeric (68, 2) array of (x, y), got shape {lm.shape} "
                         f"dtype {lm.dtype}")
    lm = lm.astype(np.float64, copy=False)
    if not np.isfinite(lm).all():
        raise ValueError("landmarks contain NaN or infinite values")
    return lm


def flip_landmarks(landmarks: np.ndarray, width: int) -> np.ndarray:
    """Landmarks of the horizontally mirrored image of width ``width``: (68, 2) float32.

    x maps to ``width - 1 - x`` (pixel centres at integers) and the points are re-indexed so that e.g. the
    subject's right eye is again at RIGHT_EYE.
    """
    lm = check_landmarks(landmarks)
    out = lm[FLIP_PERMUTATION].copy()
    out[:, 0] = (width - 1) - out[:, 0]
    return out.astype(np.float32)


def landmark_attributes(lm: np.ndarray) -> np.ndarray:
    """(68, 2) iBUG landmarks -> (5,) float64 [yaw, pitch, mouth_open, smile, eyes_open] (see ATTRIBUTES).

    yaw / pitch: nose tip offset from the eye midpoint along / across the eye line; mouth_open: inner-lip gap;
    smile: mouth-corner distance; eyes_open: mean eyelid gap; all divided by the inter-ocular distance.
    """
    lm = np.asarray(lm, dtype=np.float64)
    right, left = lm[36:42].mean(0), lm[42:48].mean(0)
    iod = float(np.linalg.norm(left - right))
    if iod <= 0:
        raise ValueError("degenerate landmarks: eye centres coincide")
    ex = (left - right) / iod
    ey = np.array([-ex[1], ex[0]])  # image y axis points down, so ey points from eyes to mouth
    mid = (left + right) / 2
    nose = lm[30] - mid
    mouth_open = (lm[66] - lm[62]) @ ey
    smile = np.linalg.norm(lm[54] - lm[48])
    eyes = ((lm[41] + lm[40]) / 2 - (lm[37] + lm[38]) / 2) @ ey + ((lm[47] + lm[46]) / 2 - (lm[43] + lm[44]) / 2) @ ey
    return np.array([nose @ ex, nose @ ey, mouth_open, smile, eyes / 2]) / iod


class LandmarkPredictor:
    """dlib's 68-point shape predictor (iBUG 300-W), loaded on first use and cached on the instance."""

    def __init__(self) -> None:
        self._model: dlib.shape_predictor | None = None

    def _load(self) -> dlib.shape_predictor:
        if self._model is None:
            import dlib  # dlib on first use: a training-only machine (the lent GPU) has none

            self._model = dlib.shape_predictor(str(require("dlib_landmarks68")))
        return self._model

    def predict(self, img: np.ndarray, box: Box) -> np.ndarray:
        """(68, 2) float32 (x, y) landmarks of the face in ``box`` of an (H, W, 3) uint8 RGB image.

        dlib returns whole-pixel positions; points may lie outside the image for faces at the border.
        """
        img = ensure_rgb_uint8(img)
        shape = self._load()(img, box.to_dlib())
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
