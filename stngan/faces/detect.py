"""Face detection: MTCNN (frontal to profile, down to ~20 px, 5 points), dlib HOG or dlib's CNN.

Every detector's boxes are returned in dlib's HOG box convention (roughly brows to chin, square), the
convention the 68-point predictor and the crops of training data use, so downstream code never needs to
know which detector ran. MTCNN also gives 5 points (eye centres, nose tip, mouth corners), which the
fallback masks use where the 68-point fit is unreliable (:mod:`stngan.faces.fallback`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import dlib
import numpy as np

from stngan.faces.box import Box
from stngan.faces.image_io import ensure_rgb_uint8
from stngan.weights import require

DetectorKind = Literal["mtcnn", "hog", "cnn"]
DETECTOR_KINDS = ("mtcnn", "hog", "cnn")
# Minimum detector score kept by default. Missing a face publishes it unmasked, while a false face only
# costs a mask on background, so no detector is made stricter than its authors' own operating point
# (HOG: SVM margin 0, CNN: 0; MTCNN: its stage thresholds 0.6/0.7/0.7, then every O-Net survivor).
DEFAULT_MIN_SCORE = {"mtcnn": 0.0, "hog": 0.0, "cnn": 0.0}
MTCNN_THRESHOLDS = (0.6, 0.7, 0.7)
# dlib box from an MTCNN box: centre shift (x, y) and size (w, h) in units of the MTCNN box's w and h; the
# medians over 166 NBA head shots found by both (spread: 0.05 / 0.03 / 0.09 / 0.07)
MTCNN_TO_DLIB = (-0.019, 0.048, 1.122, 0.849)


@dataclass(frozen=True, eq=False)
class Detection:
    """A face box (dlib convention) and, when the detector gives them, (5, 2) float32 points in the order
    image-left eye, image-right eye, nose tip, image-left mouth corner, image-right mouth corner."""

    box: Box
    points: np.ndarray | None = None


def mtcnn_box_to_dlib(x1: float, y1: float, x2: float, y2: float, score: float) -> Box:
    w, h = x2 - x1, y2 - y1
    dx, dy, sw, sh = MTCNN_TO_DLIB
    cx, cy = (x1 + x2) / 2 + dx * w, (y1 + y2) / 2 + dy * h
    return Box(cx - sw * w / 2, cy - sh * h / 2, cx + sw * w / 2, cy + sh * h / 2, score)


class FaceDetector:
    """Finds faces in RGB images; the model is loaded on first use and cached on the instance.

    ``kind="mtcnn"`` (`stngan anonymize`'s default) is the MTCNN cascade (facenet-pytorch's weights): it finds faces from
    frontal to near profile, dim or partly covered, down to ``min_face`` px (box side; cost grows as
    ``min_face`` shrinks). ``kind="hog"`` is dlib's frontal HOG detector (the paper's, fast, frontal only,
    ~80 px at ``upsample=0``, ~40 px at 1; this class's default, used to prepare training data);
    ``kind="cnn"`` dlib's MMOD CNN (slow on CPU). ``upsample``
    applies to the dlib kinds only. Detections scoring below ``min_score`` are dropped (DEFAULT_MIN_SCORE).
    """

    def __init__(self, kind: DetectorKind = "hog", upsample: int = 1, min_score: float | None = None,
                 min_face: int = 20) -> None:
        if kind not in DETECTOR_KINDS:
            raise ValueError(f"unknown face detector kind {kind!r}; use one of {', '.join(DETECTOR_KINDS)}")
        if int(upsample) != upsample or upsample < 0:
            raise ValueError(f"upsample must be a non-negative integer, got {upsample!r}")
        if int(min_face) != min_face or min_face < 12:
            raise ValueError(f"min_face must be an integer >= 12 (px), got {min_face!r}")
        self.kind: DetectorKind = kind
        self.upsample = int(upsample)
        self.min_face = int(min_face)
        self.min_score = float(DEFAULT_MIN_SCORE[kind] if min_score is None else min_score)
        self._model = None

    def _load(self):
        if self._model is None:
            if self.kind == "hog":
                self._model = dlib.get_frontal_face_detector()
            elif self.kind == "cnn":
                self._model = dlib.cnn_face_detection_model_v1(str(require("dlib_cnn_detector")))
            else:
                for net in ("pnet", "rnet", "onet"):
                    require(f"mtcnn_{net}")  # one clear line naming the package when it is missing
                from facenet_pytorch import MTCNN  # heavy import, only when this detector runs

                self._model = MTCNN(keep_all=True, min_face_size=self.min_face, thresholds=list(MTCNN_THRESHOLDS),
                                    post_process=False, select_largest=False, device="cpu")
        return self._model

    def detect(self, img: np.ndarray) -> list[Box]:
        """Face boxes of an (H, W, 3) uint8 RGB image, largest first (see :meth:`detect_with_points`)."""
        return [d.box for d in self.detect_with_points(img)]

    def detect_with_points(self, img: np.ndarray) -> list[Detection]:
        """Faces in an (H, W, 3) uint8 RGB image, largest box area first (ties: higher score first).

        Boxes are in the image's continuous pixel coordinates (see :class:`Box`) and may extend past the
        image border. An image without faces gives an empty list.
        """
        img = ensure_rgb_uint8(img)
        model = self._load()
        if self.kind == "hog":
            rects, scores, _ = model.run(img, self.upsample, self.min_score)
            found = [Detection(Box.from_dlib(r, s)) for r, s in zip(rects, scores)]
        elif self.kind == "cnn":
            found = [Detection(Box.from_dlib(d.rect, d.confidence)) for d in model(img, self.upsample)
                     if d.confidence >= self.min_score]
        else:
            found = self._mtcnn(model, img)
        return sorted(found, key=lambda d: (-d.box.area, -d.box.score))

    def _mtcnn(self, model, img: np.ndarray) -> list[Detection]:
        import torch

        with torch.inference_mode():
            boxes, probs, points = model.detect(img, landmarks=True)
        if boxes is None:
            return []
        out = []
        for (x1, y1, x2, y2), p, pts in zip(boxes, probs, points):
            # MTCNN_TO_DLIB was measured on these coordinates as returned, so no half-pixel shift here
            if p >= self.min_score and x2 > x1 and y2 > y1:
                out.append(Detection(mtcnn_box_to_dlib(x1, y1, x2, y2, float(p)), np.asarray(pts, np.float32)))
        return out
