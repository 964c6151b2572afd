"""Detection plus landmarks in one call: the per-frame entry point of the face pipeline."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stngan.faces.box import Box
from stngan.faces.detect import DetectorKind, FaceDetector
from stngan.faces.landmarks import LandmarkPredictor


@dataclass(frozen=True, eq=False)  # eq would compare arrays elementwise
class Face:
    """One detected face: its box, (68, 2) float32 landmarks and the detector's (5, 2) points if it gives
    them (see :class:`~stngan.faces.detect.Detection`), all in frame pixel coordinates."""

    box: Box
    landmarks: np.ndarray
    points: np.ndarray | None = None


class FaceAnalyzer:
    """Detects faces and predicts their landmarks; models load lazily on first :meth:`analyze`.

    ``detector_kind``, ``upsample``, ``min_score`` and ``min_face`` configure a new :class:`FaceDetector`; alternatively
    pass ``detector`` / ``predictor`` to share already-loaded models (the four settings are then ignored).
    """

    def __init__(self, detector_kind: DetectorKind = "hog", upsample: int = 1, *, min_score: float | None = None,
                 min_face: int = 20, detector: FaceDetector | None = None,
                 predictor: LandmarkPredictor | None = None) -> None:
        self.detector = detector if detector is not None else FaceDetector(detector_kind, upsample, min_score, min_face)
        self.predictor = predictor if predictor is not None else LandmarkPredictor()

    def analyze(self, img: np.ndarray, *, fast_only: bool = False) -> list[Face]:
        """All faces in an (H, W, 3) uint8 RGB image, largest box first; no face gives an empty list.

        ``fast_only``: see :meth:`FaceDetector.detect_with_points`."""
        return [Face(d.box, self.predictor.predict(img, d.box), d.points)
                for d in self.detector.detect_with_points(img, fast_only=fast_only)]
