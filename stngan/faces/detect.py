"""Face detection with dlib: HOG + linear SVM (default, fast on CPU) or the CNN MMOD detector."""
from __future__ import annotations

from typing import Literal

import dlib
import numpy as np

from stngan.faces.box import Box
from stngan.faces.image_io import ensure_rgb_uint8
from stngan.weights import require

DetectorKind = Literal["hog", "cnn"]
# HOG's own threshold is 0; with upsampling it then fires on face-like clutter (skimage's astronaut: the
# mission patch at 0.12) while real faces in the test images all score >= 0.43. A false face would get a
# face painted onto the background, so a stricter default is used. The CNN keeps dlib's threshold.
DEFAULT_MIN_SCORE = {"hog": 0.3, "cnn": 0.0}


class FaceDetector:
    """Finds faces in RGB images; the dlib model is loaded on first use and cached on the instance.

    ``kind="hog"`` is dlib's frontal HOG detector (the one the paper used on CelebA); ``kind="cnn"`` is the
    MMOD CNN (more robust to pose and blur, much slower on CPU). Both see faces down to about 80 px at
    ``upsample=0``; each upsampling step doubles the image first and halves that minimum (about 40 px at
    ``upsample=1``, the default) at roughly 4x the cost. Detections scoring below ``min_score`` are dropped
    (default per kind: DEFAULT_MIN_SCORE; the CNN never reports scores below 0).
    """

    def __init__(self, kind: DetectorKind = "hog", upsample: int = 1, min_score: float | None = None) -> None:
        if kind not in ("hog", "cnn"):
            raise ValueError(f"unknown face detector kind {kind!r}; use 'hog' or 'cnn'")
        if int(upsample) != upsample or upsample < 0:
            raise ValueError(f"upsample must be a non-negative integer, got {upsample!r}")
        self.kind: DetectorKind = kind
        self.upsample = int(upsample)
        self.min_score = float(DEFAULT_MIN_SCORE[kind] if min_score is None else min_score)
        self._model = None

    def _load(self):
        if self._model is None:
            if self.kind == "hog":
                self._model = dlib.get_frontal_face_detector()
            else:
                self._model = dlib.cnn_face_detection_model_v1(str(require("dlib_cnn_detector")))
        return self._model

    def detect(self, img: np.ndarray) -> list[Box]:
        """Faces in an (H, W, 3) uint8 RGB image, largest box area first (ties: higher score first).

        Boxes are in the image's continuous pixel coordinates (see :class:`Box`) and may extend past the
        image border. An image without faces gives an empty list.
        """
        img = ensure_rgb_uint8(img)
        model = self._load()
        if self.kind == "hog":
            rects, scores, _ = model.run(img, self.upsample, self.min_score)
            boxes = [Box.from_dlib(r, s) for r, s in zip(rects, scores)]
        else:
            boxes = [Box.from_dlib(d.rect, d.confidence) for d in model(img, self.upsample)
                     if d.confidence >= self.min_score]
        return sorted(boxes, key=lambda b: (-b.area, -b.score))
