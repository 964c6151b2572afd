"""dlib's 128-D face-recognition embedding (ResNet shipped by face-recognition-models, always offline)."""
from __future__ import annotations

from pathlib import Path

import dlib
import numpy as np

DIM = 128


def _shape(landmarks: np.ndarray, size: int) -> dlib.full_object_detection:
    pts = np.rint(landmarks).astype(int)
    rect = dlib.rectangle(0, 0, size - 1, size - 1)
    return dlib.full_object_detection(rect, [dlib.point(int(x), int(y)) for x, y in pts])


class DlibFaceEmbedder:
    """embed(crops (N, H, W, 3) uint8 RGB, landmarks (N, 68, 2) crop px) -> (N, 128) float32.

    Each face is aligned by dlib from the given 68 landmarks (150x150 chip, padding 0.25, no jitter). The
    evaluation passes the *original* face's landmarks for the original and for every inpainted version, so
    all versions of one face are aligned identically and distances reflect content, not alignment. dlib
    calls two faces the same person below a distance of 0.6.
    """

    name = "dlib"
    dim = DIM
    same_person_threshold = 0.6

    def __init__(self, path: str | Path | None = None) -> None:
        self._path = path
        self._model: dlib.face_recognition_model_v1 | None = None

    def _load(self) -> dlib.face_recognition_model_v1:
        if self._model is None:
            if self._path is None:
                from stngan.weights import require

                self._path = require("dlib_face_recognition")
            self._model = dlib.face_recognition_model_v1(str(self._path))
        return self._model

    def embed(self, crops: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        if crops.ndim != 4 or crops.shape[-1] != 3 or crops.dtype != np.uint8:
            raise ValueError(f"crops must be (N, H, W, 3) uint8, got {crops.shape} {crops.dtype}")
        if landmarks.shape != (len(crops), 68, 2):
            raise ValueError(f"landmarks must be ({len(crops)}, 68, 2), got {landmarks.shape}")
        if len(crops) == 0:
            return np.zeros((0, DIM), np.float32)
        model = self._load()
        images = [np.ascontiguousarray(c) for c in crops]
        shapes = [dlib.full_object_detections([_shape(lm, c.shape[0])]) for c, lm in zip(crops, landmarks)]
        out = model.compute_face_descriptor(images, shapes, 0, 0.25)
        return np.array([[list(d) for d in per_image][0] for per_image in out], dtype=np.float32)
