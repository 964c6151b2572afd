"""From a frame to a stored face: detection (or the dataset's landmarks), the kept face, the crop.

Rules:

* Detection is coarse to fine: a frame is searched at upsample 0 first and, only if no face is found
  there, at 1, 2, ... up to ``ExtractOptions.upsample``. Faces of 80 px and more are found at 0 for a
  quarter of the cost; smaller ones are still found at the finer levels. ``several`` counts the faces
  found at the level that found any.
* Several faces: the largest box is kept. When the dataset annotates where its face is (a hint point, e.g.
  CelebA's bbox centre), the largest box containing that point is kept, falling back to the largest.
* Annotated landmarks (300-VW) skip detection: the box is derived from the landmarks to match dlib's HOG
  boxes (see :func:`box_from_landmarks`), so annotated and detected crops are framed alike.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from stngan.data.prepare.plan import ExtractOptions
from stngan.faces.box import Box
from stngan.faces.crop import CropTransform
from stngan.faces.detect import FaceDetector
from stngan.faces.landmarks import LandmarkPredictor

# dlib HOG box relative to the landmarks' bounding box, measured on 25 real faces (CelebA-like stills and
# video frames): the box is square, ~1.06x the larger landmark extent, centred ~0.09x higher (it covers the
# forehead above the brows and stops above the chin's lowest point).
_BOX_SIDE_PER_EXTENT = 1.06
_BOX_RAISE_PER_EXTENT = 0.09


def box_from_landmarks(landmarks: np.ndarray) -> Box:
    """A dlib-HOG-like face box for (68, 2) frame-coordinate landmarks."""
    lo, hi = landmarks.min(axis=0), landmarks.max(axis=0)
    extent = float(max(hi - lo))
    cx, cy = (lo + hi) / 2.0
    half = _BOX_SIDE_PER_EXTENT * max(extent, 1.0) / 2.0
    cy -= _BOX_RAISE_PER_EXTENT * extent
    return Box(cx - half, cy - half, cx + half, cy + half, 0.0)


def pick_face(boxes: list[Box], hint: tuple[float, float] | None = None) -> Box:
    """The kept face among ``boxes`` (sorted largest first): see the module rules."""
    if hint is not None:
        x, y = hint
        for b in boxes:
            if b.left <= x <= b.right and b.top <= y <= b.bottom:
                return b
    return boxes[0]


@dataclass(frozen=True)
class Crop:
    """A face cut out of a frame: what the store keeps of it."""

    image: np.ndarray  # (size, size, 3) uint8
    landmarks: np.ndarray  # (68, 2) float32 in crop coordinates
    transform: tuple[float, float, float]  # (cx, cy, side) in frame pixels


TRAINING_MIN_SCORE = {"hog": 0.3}


class FaceExtractor:
    """Finds the kept face of a frame and crops it; dlib models load on first use."""

    def __init__(self, options: ExtractOptions) -> None:
        self.options = options
        # training crops want precision (a false face is a bad sample), unlike anonymize, which keeps every
        # detection: HOG at 0.3 drops clutter such as the astronaut's mission patch (0.12)
        min_score = TRAINING_MIN_SCORE.get(options.detector)
        self.detectors = [FaceDetector(options.detector, u, min_score) for u in range(options.upsample + 1)]
        self.predictor = LandmarkPredictor()

    def crop(self, img: np.ndarray, landmarks: np.ndarray, box: Box | None = None) -> Crop:
        """Crop around ``box`` (default: derived from the landmarks) with the configured padding."""
        box = box if box is not None else box_from_landmarks(landmarks)
        t = CropTransform.from_box(box, pad=self.options.pad, size=self.options.size)
        return Crop(t.crop(img), t.to_crop(np.asarray(landmarks, dtype=np.float32)), (t.cx, t.cy, t.side))

    def detect_and_crop(self, img: np.ndarray,
                        hint: tuple[float, float] | None = None) -> tuple[Crop | None, int]:
        """Detect, keep one face, crop it around its detector box: (crop or None, faces found)."""
        for detector in self.detectors:
            boxes = detector.detect(img)
            if boxes:
                box = pick_face(boxes, hint)
                return self.crop(img, self.predictor.predict(img, box), box), len(boxes)
        return None, 0


@functools.cache
def extractor_for(options: ExtractOptions) -> FaceExtractor:
    """One extractor per process and options, so worker processes load the dlib models once."""
    return FaceExtractor(options)
