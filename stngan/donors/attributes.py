"""What a face's donor must match, measured the same way on donors and on masked targets.

- pose: yaw / pitch as :func:`stngan.faces.landmarks.landmark_attributes` measures them (nose-tip
  offset in inter-ocular distances) and roll (eye-line angle, degrees);
- expression: mouth opening, smile, eye opening (the same function);
- skin tone: ITA (:func:`stngan.metrics.colour.ita_degrees`) on the *skin ring*: inside the face outline
  (jaw and brows), outside the privacy mask's circles grown by a margin — visible on a masked target, so a
  donor's tone is measured on the skin a target shows;
- glasses: the horizontal edge of a frame's bridge between the eyes, relative to the cheeks' edges; visible
  pixels only, so on a masked target (whose bridge the nose circle covers) it is usually unknown.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from stngan.faces.masks import mask_geometry, rasterize
from stngan.metrics.colour import ita_degrees, lab
from stngan.faces.landmarks import landmark_attributes

GLASSES_THRESHOLD = 3.0  # edge ratio above which a face is taken to wear glasses (measured: docs/DONORS.md)
RING_MARGIN = 0.12  # skin ring: mask circles grown by this many inter-ocular distances are left out


@dataclass(frozen=True)
class FaceAttributes:
    yaw: float
    pitch: float
    roll: float
    mouth_open: float
    smile: float
    eyes_open: float
    ita: float  # nan where no skin is visible
    glasses: float  # edge ratio; nan where neither band is visible
    mouth_aspect: float = math.nan  # inner-lip gap / inner mouth width: a smile is wide (low), an "ah" tall (high)
    teeth: float = math.nan  # share of the inner mouth that is bright and colourless; nan where it is masked

    @property
    def wears_glasses(self) -> bool:
        return bool(self.glasses > GLASSES_THRESHOLD)

    def to_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and math.isnan(v) else round(float(v), 4))
                for k, v in asdict(self).items()}


def inter_ocular(landmarks: np.ndarray) -> float:
    lm = np.asarray(landmarks, np.float64)
    return float(np.linalg.norm(lm[42:48].mean(0) - lm[36:42].mean(0)))


def roll_degrees(landmarks: np.ndarray) -> float:
    lm = np.asarray(landmarks, np.float64)
    d = lm[42:48].mean(0) - lm[36:42].mean(0)
    return math.degrees(math.atan2(d[1], d[0]))


def face_outline(shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    """(H, W) bool: inside the polygon of the jaw and the brows (raised by a third of the eye-brow gap)."""
    lm = np.asarray(landmarks, np.float64)
    brows = lm[26:16:-1].copy()
    brows[:, 1] -= 0.3 * inter_ocular(lm)
    poly = np.concatenate([lm[0:17], brows])
    out = np.zeros(shape, np.uint8)
    cv2.fillPoly(out, [np.round(poly).astype(np.int32)], 1)
    return out.astype(bool)


def skin_ring(shape: tuple[int, int], landmarks: np.ndarray, visible: np.ndarray | None = None) -> np.ndarray:
    """(H, W) bool: face outline minus the privacy circles grown by RING_MARGIN, and minus ``~visible``."""
    lm = np.asarray(landmarks, np.float64)
    circles = mask_geometry(lm).dilated(RING_MARGIN * inter_ocular(lm))
    ring = face_outline(shape, lm) & ~rasterize(circles, shape[0], shape[1]).astype(bool)
    return ring if visible is None else ring & visible


def _band(shape: tuple[int, int], corners: np.ndarray) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(out, np.round(corners).astype(np.int32), 1)
    return out.astype(bool)


def glasses_ratio(img: np.ndarray, landmarks: np.ndarray, visible: np.ndarray | None = None) -> float:
    """A glasses frame's bridge: the strongest horizontal edge line (mean vertical gradient of one row) on the nose
    bridge between the eyes — the middle half between the inner eye corners, from a quarter inter-ocular distance
    above the eye line to just below it — over the cheeks' mean vertical gradient. nan when the bridge is mostly
    masked (targets: the nose circle usually covers it). Measured on the shipped bank: the one donor with glasses
    5.5, the others 0.9–2.2 (docs/DONORS.md)."""
    lm = np.asarray(landmarks, np.float64)
    iod = inter_ocular(lm)
    grey = cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), max(0.6, iod / 60))
    gy = np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    h, w = img.shape[:2]
    eye_y = (lm[36:42, 1].mean() + lm[42:48, 1].mean()) / 2
    inner = lm[42, 0] - lm[39, 0]
    x0, x1 = int(np.clip(lm[39, 0] + 0.25 * inner, 0, w - 1)), int(np.clip(lm[42, 0] - 0.25 * inner, 0, w - 1))
    y0, y1 = int(np.clip(eye_y - 0.25 * iod, 0, h - 1)), int(np.clip(eye_y + 0.05 * iod, 0, h - 1))
    shape = img.shape[:2]
    cheeks = _band(shape, np.array([lm[1], lm[31], lm[48], lm[4]])) | _band(shape, np.array([lm[15], lm[35], lm[54], lm[12]]))
    seen = np.ones(shape, bool) if visible is None else visible
    bridge, bridge_seen = gy[y0:y1 + 1, x0:x1 + 1], seen[y0:y1 + 1, x0:x1 + 1]
    cheeks &= seen
    if x1 <= x0 or y1 <= y0 or bridge_seen.mean() < 0.8 or cheeks.sum() < 4:
        return math.nan
    return float(bridge.mean(axis=1).max() / max(float(gy[cheeks].mean()), 1.0))


def measure(img: np.ndarray, landmarks: np.ndarray, visible: np.ndarray | None = None) -> FaceAttributes:
    """Attributes of the face with these (68, 2) landmarks in an (H, W, 3) uint8 RGB image; ``visible``
    (H, W) bool leaves masked pixels out of tone and glasses (pose and expression come from the points)."""
    lm = np.asarray(landmarks, np.float64)
    yaw, pitch, mouth, smile, eyes = (float(v) for v in landmark_attributes(lm))
    ring = skin_ring(img.shape[:2], lm, visible)
    ita = skin_ita(img, ring)
    return FaceAttributes(yaw, pitch, roll_degrees(lm), mouth, smile, eyes, ita, glasses_ratio(img, lm, visible),
                          mouth_aspect(lm), teeth_share(img, lm, visible))


NO_ITA_BELOW_B = 3.0  # median b* of the ring below this: grey or bluish (B/W photo, colour cast), ITA says nothing


def skin_ita(img: np.ndarray, ring: np.ndarray) -> float:
    """ITA of the ring, nan for fewer than 16 pixels or a ring without yellow (median b* < NO_ITA_BELOW_B), the
    rule of benchmarks/bench_colour.py: the angle saturates at ±90° there."""
    if ring.sum() < 16 or float(np.median(lab(img)[ring][:, 2])) < NO_ITA_BELOW_B:
        return math.nan
    return ita_degrees(img, ring)


def chin_shadow(img: np.ndarray, landmarks: np.ndarray, visible: np.ndarray | None = None) -> float:
    """How much darker the chin is than the cheeks (median L* of the skin ring minus that of the chin: between
    the jaw points 5-11 and the lower lip, visible pixels only): a beard or stubble shadow is 5-20, a bare chin
    about 0. nan when fewer than 16 chin or ring pixels are visible."""
    lm = np.asarray(landmarks, np.float64)
    chin = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(chin, [np.round(np.concatenate([lm[5:12], lm[[55, 56, 57, 58, 59]]])).astype(np.int32)], 1)
    chin = chin.astype(bool) if visible is None else chin.astype(bool) & visible
    ring = skin_ring(img.shape[:2], lm, visible) & ~chin
    if chin.sum() < 16 or ring.sum() < 16:
        return math.nan
    light = lab(img)[..., 0]
    return float(np.median(light[ring]) - np.median(light[chin]))


def mouth_aspect(landmarks: np.ndarray) -> float:
    lm = np.asarray(landmarks, np.float64)
    gap = np.linalg.norm(lm[66] - lm[62])
    return float(gap / max(np.linalg.norm(lm[64] - lm[60]), 1e-6))


TEETH_L, TEETH_CHROMA = 60.0, 25.0  # CIELAB: a tooth is light and nearly colourless (lips and tongue are red)


def teeth_share(img: np.ndarray, landmarks: np.ndarray, visible: np.ndarray | None = None) -> float:
    """Share of the inner-mouth polygon (points 60-67) whose pixels are light (L* > TEETH_L) and colourless
    (chroma < TEETH_CHROMA); nan when fewer than 8 of its pixels are visible."""
    inner = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(inner, [np.round(np.asarray(landmarks, np.float64)[60:68]).astype(np.int32)], 1)
    inner = inner.astype(bool) if visible is None else inner.astype(bool) & visible
    if inner.sum() < 8:
        return math.nan
    px = cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[inner]
    return float(((px[:, 0] > TEETH_L) & (np.hypot(px[:, 1], px[:, 2]) < TEETH_CHROMA)).mean())
