"""A mean 68-point face used where the 68-point fit cannot be trusted (profile, tiny, occluded faces).

The template is stored in box units: (68, 2) points with x, y in [0, 1] of a dlib-convention face box (the
box convention of every detector here, see :mod:`stngan.faces.detect`). Fitting it to a face's 5 points
(eye centres, nose tip, mouth corners) uses a least-squares similarity transform; without points it is
simply placed in the box. The 68 points only steer the inpainting model's condition maps; masks made for
such faces come from :mod:`stngan.faces.fallback`, which is more generous.

``python -m stngan.faces.template PHOTO_DIR`` rebuilds ``assets/face_template.npz`` from frontal photos
(the shipped file: the 388 NBA summer-league head shots with exactly one HOG face).
"""
from __future__ import annotations

import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from stngan.faces.box import Box
from stngan.faces.landmarks import LEFT_EYE, RIGHT_EYE

ASSET = "face_template.npz"


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """(5, 2) float64: image-left eye centre, image-right eye centre, nose tip, left and right mouth corner.

    The order of MTCNN's points for an unmirrored face (image-left eye = the subject's right eye).
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    return np.stack([lm[RIGHT_EYE].mean(axis=0), lm[LEFT_EYE].mean(axis=0), lm[30], lm[48], lm[54]])


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2×3 matrix of the least-squares similarity (scale, rotation, shift) taking points src to dst (Umeyama)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - ms, dst - md
    var = (s ** 2).sum()
    if var <= 1e-12:
        raise ValueError("similarity needs points that are not all the same")
    a = (s * d).sum() / var  # cos-part
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / var  # sin-part
    rot = np.array([[a, -b], [b, a]])
    return np.hstack([rot, (md - rot @ ms)[:, None]])


def apply(matrix: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return np.asarray(pts, np.float64) @ matrix[:, :2].T + matrix[:, 2]


def _box_units(landmarks: np.ndarray, box: Box) -> np.ndarray:
    lm = np.asarray(landmarks, np.float64)
    return np.stack([(lm[:, 0] - box.left) / box.width, (lm[:, 1] - box.top) / box.height], axis=1)


def build(shapes: list[np.ndarray], boxes: list[Box]) -> np.ndarray:
    """Mean shape in box units: each face's landmarks in its box's units, then Procrustes-aligned (2 rounds)."""
    unit = [_box_units(lm, b) for lm, b in zip(shapes, boxes)]
    mean = np.mean(unit, axis=0)
    for _ in range(2):
        aligned = [apply(similarity(five_points(u), five_points(mean)), u) for u in unit]
        mean = np.mean(aligned, axis=0)
    return mean.astype(np.float32)


@lru_cache(maxsize=1)
def mean_shape() -> np.ndarray:
    """(68, 2) float32 mean face in box units (read-only)."""
    with resources.files("stngan").joinpath("assets", ASSET).open("rb") as f:
        shape = np.load(f)["mean_shape"]
    shape.flags.writeable = False
    return shape


def fit_to_points(points5: np.ndarray) -> np.ndarray:
    """(68, 2) float32 template landmarks placed on a face by its (5, 2) points."""
    shape = mean_shape()
    return apply(similarity(five_points(shape), points5), shape).astype(np.float32)


def fit_to_box(box: Box) -> np.ndarray:
    """(68, 2) float32 template landmarks placed in a dlib-convention face box."""
    shape = mean_shape().astype(np.float64)
    return np.stack([box.left + shape[:, 0] * box.width, box.top + shape[:, 1] * box.height], axis=1).astype(np.float32)


def main(argv: list[str]) -> None:
    # here, not at the top: the analyzer imports the fallback masks, which import this module
    from stngan.faces.analyzer import FaceAnalyzer
    from stngan.faces.image_io import load_image

    analyzer = FaceAnalyzer("hog", 1)
    shapes, boxes = [], []
    for path in sorted(Path(argv[0]).iterdir()):
        try:
            faces = analyzer.analyze(load_image(path))
        except ValueError:
            continue
        if len(faces) == 1:
            shapes.append(faces[0].landmarks)
            boxes.append(faces[0].box)
    out = Path(__file__).resolve().parent.parent / "assets" / ASSET
    np.savez(out, mean_shape=build(shapes, boxes), faces=len(shapes))
    print(f"{out}: mean of {len(shapes)} faces")


if __name__ == "__main__":
    main(sys.argv[1:])
