"""Detection, landmarks and the analyzer on real photographs."""
from __future__ import annotations

import numpy as np
import pytest

from stngan.faces import (
    JAW,
    LEFT_EYE,
    MOUTH,
    NOSE,
    RIGHT_EYE,
    Box,
    CropTransform,
    FaceDetector,
    UnsupportedImageError,
    flip_landmarks,
)
from stngan.faces.landmarks import FLIP_PERMUTATION

SINGLE_FACE_NAMES = ["astronaut", "sanogo", "tiny", "frontal", "three_quarter", "outdoor"]


def _iou(a: Box, b: Box) -> float:
    w = max(0.0, min(a.right, b.right) - max(a.left, b.left))
    h = max(0.0, min(a.bottom, b.bottom) - max(a.top, b.top))
    return w * h / (a.area + b.area - w * h)


@pytest.mark.parametrize("name", SINGLE_FACE_NAMES)
def test_exactly_one_face(face_analyses, name):
    assert len(face_analyses[name]) == 1


@pytest.mark.parametrize("name", SINGLE_FACE_NAMES)
def test_landmarks_inside_padded_box(face_analyses, name):
    face = face_analyses[name][0]
    assert face.landmarks.shape == (68, 2) and face.landmarks.dtype == np.float32
    t = CropTransform.from_box(face.box, pad=0.2)  # the paper's crop
    lo, hi = np.array([t.cx, t.cy]) - t.side / 2, np.array([t.cx, t.cy]) + t.side / 2
    quantum = 0.5  # dlib rounds landmarks to whole pixels
    assert (face.landmarks >= lo - quantum).all() and (face.landmarks <= hi + quantum).all()


@pytest.mark.parametrize("name", SINGLE_FACE_NAMES)
def test_landmarks_in_anatomical_order(face_analyses, name):
    lm = face_analyses[name][0].landmarks
    eyes_y = lm[list(RIGHT_EYE) + list(LEFT_EYE), 1].mean()
    nose_tip, mouth = lm[NOSE][3], lm[MOUTH].mean(axis=0)
    assert eyes_y < nose_tip[1] < mouth[1]
    assert lm[RIGHT_EYE, 0].mean() < lm[LEFT_EYE, 0].mean()  # subject's right eye is on the image's left
    jaw = lm[JAW]
    assert jaw[0, 0] < nose_tip[0] < jaw[-1, 0]  # jaw runs from the image's left side to its right side
    assert jaw[8, 1] > mouth[1]  # chin below the mouth


def test_two_faces_side_by_side_largest_first(face_analyzer, two_faces_image):
    faces = face_analyzer.analyze(two_faces_image)
    assert len(faces) == 2
    big, small = faces[0].box, faces[1].box
    assert big.area > small.area
    assert big.center[0] > 160 > small.center[0]  # the larger face is the right one
    assert big.score < small.score  # so the order is by size, not by detector score


def test_no_face_gives_empty_list(face_analyzer, no_face_images):
    for name, img in no_face_images.items():
        assert face_analyzer.analyze(img) == [], name


def test_tiny_face_needs_upsample_1(face_images):
    tiny = face_images["tiny"]
    assert FaceDetector("hog", upsample=0).detect(tiny) == []
    boxes = FaceDetector("hog", upsample=1).detect(tiny)
    assert len(boxes) == 1 and boxes[0].width < 50


def test_cnn_detector_agrees_with_hog(face_images, face_analyses):
    boxes = FaceDetector("cnn", upsample=0).detect(face_images["sanogo"])
    assert len(boxes) == 1
    assert _iou(boxes[0], face_analyses["sanogo"][0].box) > 0.5


def test_hog_default_keeps_low_scoring_faces(face_images):
    """Privacy first: the default HOG threshold is dlib's 0, so a weak face is masked (the astronaut's mission
    patch, 0.12, comes along as a false face); a stricter min_score is an explicit choice."""
    assert len(FaceDetector("hog", upsample=1).detect(face_images["astronaut"])) == 2
    assert len(FaceDetector("hog", upsample=1, min_score=0.3).detect(face_images["astronaut"])) == 1


def test_mirrored_image_gives_mirrored_landmarks(face_images, face_analyses, face_landmark_predictor):
    img, face = face_images["frontal"], face_analyses["frontal"][0]
    width = img.shape[1]
    b = face.box
    mirrored_box = Box(width - b.right, b.top, width - b.left, b.bottom)
    predicted = face_landmark_predictor.predict(np.ascontiguousarray(img[:, ::-1]), mirrored_box)
    err = np.linalg.norm(predicted - flip_landmarks(face.landmarks, width), axis=1)
    # correct: every point within 1.5% of the face width; one swapped pair of eyelid points: over 5%
    assert err.max() < 0.03 * b.width


def test_flip_permutation_is_an_involution():
    assert sorted(FLIP_PERMUTATION) == list(range(68))
    assert np.array_equal(FLIP_PERMUTATION[FLIP_PERMUTATION], np.arange(68))
    lm = np.random.default_rng(0).uniform(0, 100, (68, 2)).astype(np.float32)
    assert np.allclose(flip_landmarks(flip_landmarks(lm, 100), 100), lm)


def test_box_dlib_conversion_and_dict():
    b = Box(9.5, 4.5, 19.5, 24.5, 1.25)
    assert (b.width, b.height, b.center) == (10.0, 20.0, (14.5, 14.5))
    r = b.to_dlib()
    assert (r.left(), r.top(), r.right(), r.bottom()) == (10, 5, 19, 24)
    assert Box.from_dlib(r, 1.25) == b
    assert Box.from_dict(b.to_dict()) == b
    with pytest.raises(ValueError):
        Box(5, 5, 5, 10)


def test_detector_rejects_non_rgb_uint8(face_hog_detector):
    with pytest.raises(UnsupportedImageError, match=r"\(H, W, 3\) uint8"):
        face_hog_detector.detect(np.zeros((50, 50), np.float32))
    with pytest.raises(ValueError):
        FaceDetector("retinaface")
