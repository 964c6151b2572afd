"""Which landmarks make a face's privacy mask, and the conservative masks used where the 68 points fail.

Rules (recorded per face in the sidecar, see :data:`stngan.inference.sidecar.MASK_RULES`):

- ``lm68``: the paper's circles from the 68-point fit, when it agrees with the detector's 5 points (or the
  detector gives none) and covers all of them;
- ``lm68+lm5``: the fit agrees but one of the detector's points lies outside its circles: both sets of
  circles (the union) are used;
- ``lm5``: the fit disagrees with the detector's points (profile, tiny, occluded faces): circles around
  the 5 points, sized from the face box so that each covers its whole part whatever the pose, plus a
  *face disc* over the whole inner face (detectors place boxes and points of profiles loosely: on
  tests/data/feat_bw_profile.jpg BlazeFace's box sits 20 px, a fifth of the face, too low);
- ``box``: no usable points (the fit is not even inside the box): the face disc and the circles of the
  mean face placed in the box, a little larger.

Sizes are in units of the face box width ``s`` (dlib convention ≈ the face's width).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stngan.faces.box import Box
from stngan.faces.masks import Circle, MaskGeometry, mask_geometry
from stngan.faces.template import fit_to_box, fit_to_points, five_points

AGREE_TOL = 0.15  # max distance between the fit's and the detector's points, in box widths
EYE_R, NOSE_PAD, MOUTH_PAD = 0.17, 0.08, 0.09  # lm5 circle sizes in box widths (see points5_geometry)
BOX_EXTRA = 0.05  # the box rule's extra radius, in box widths
FACE_DISC_RADIUS = 0.75  # face disc: radius in box sides (max of width, height) ...
FACE_DISC_RAISE = 0.15  # ... centred this many box heights above the box centre (eyes sit in the upper half)
MIN_RADIUS_PX = 2.0


@dataclass(frozen=True, eq=False)
class FaceMask:
    geometry: MaskGeometry
    rule: str
    landmarks: np.ndarray  # (68, 2) float32 for the inpainting condition


def points5_geometry(points: np.ndarray, box: Box, extra: float = 0.0) -> MaskGeometry:
    """Four circles (eyes, nose, mouth) around (5, 2) points, generous enough for any head pose.

    Eyes: radius ``EYE_R * s``. Nose: centred 40 % of the way from the tip to the eyes' midpoint (so it
    covers the bridge), radius 0.6 × that distance + ``NOSE_PAD * s``. Mouth: centred between the corners,
    radius half their distance + ``MOUTH_PAD * s``. ``extra`` (box widths) is added to every radius.
    """
    p = np.asarray(points, np.float64)
    s = box.width
    eye_mid = (p[0] + p[1]) / 2
    nose_c = 0.6 * p[2] + 0.4 * eye_mid
    mouth_c = (p[3] + p[4]) / 2
    radii = [EYE_R * s, EYE_R * s, 0.6 * np.linalg.norm(p[2] - eye_mid) + NOSE_PAD * s,
             0.5 * np.linalg.norm(p[4] - p[3]) + MOUTH_PAD * s]
    centres = [p[0], p[1], nose_c, mouth_c]
    return MaskGeometry(tuple(Circle(c[0], c[1], max(r + extra * s, MIN_RADIUS_PX)) for c, r in zip(centres, radii)))


def face_disc(box: Box, extra: float = 0.0) -> Circle:
    """One disc over a face's eyes, nose and mouth whatever its pose, from its box alone (module doc)."""
    cx, cy = box.center
    return Circle(cx, cy - FACE_DISC_RAISE * box.height, (FACE_DISC_RADIUS + extra) * max(box.width, box.height))


def covers(geometry: MaskGeometry, points: np.ndarray) -> np.ndarray:
    """(N,) bool: whether each (x, y) point lies inside one of the circles."""
    p = np.asarray(points, np.float64)
    inside = np.zeros(len(p), dtype=bool)
    for c in geometry.circles:
        inside |= (p[:, 0] - c.cx) ** 2 + (p[:, 1] - c.cy) ** 2 <= c.r * c.r
    return inside


def fit_is_plausible(landmarks: np.ndarray, box: Box) -> bool:
    """A 68-point fit worth using: finite, centred in the box and about its size."""
    lm = np.asarray(landmarks, np.float64)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        return False
    extent = np.ptp(lm, axis=0).max() / box.width
    cx, cy = lm.mean(axis=0)
    bx, by = box.center
    return 0.5 <= extent <= 1.8 and abs(cx - bx) <= 0.35 * box.width and abs(cy - by) <= 0.35 * box.height


def face_mask(box: Box, landmarks: np.ndarray | None, points: np.ndarray | None = None) -> FaceMask:
    """The privacy mask of one face and the rule that made it (module doc)."""
    usable = landmarks is not None and fit_is_plausible(landmarks, box)
    if usable and points is not None:
        disagreement = np.linalg.norm(five_points(landmarks) - points, axis=1).max() / box.width
        usable = disagreement <= AGREE_TOL
    if usable:
        geometry = mask_geometry(landmarks)
        if points is None or covers(geometry, points).all():
            return FaceMask(geometry, "lm68", np.asarray(landmarks, np.float32))
        union = MaskGeometry(geometry.circles + points5_geometry(points, box).circles)
        return FaceMask(union, "lm68+lm5", np.asarray(landmarks, np.float32))
    if points is not None:
        return FaceMask(_with_disc(points5_geometry(points, box), box), "lm5", fit_to_points(points))
    template = fit_to_box(box)
    return FaceMask(_with_disc(points5_geometry(five_points(template), box, BOX_EXTRA), box, BOX_EXTRA), "box", template)


def _with_disc(geometry: MaskGeometry, box: Box, extra: float = 0.0) -> MaskGeometry:
    return MaskGeometry(geometry.circles + (face_disc(box, extra),))
