"""Our MTCNN cascade on facenet-pytorch's weights, and the MTCNN + BlazeFace union anonymize runs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from stngan.faces.detect import FaceDetector
from stngan.faces.image_io import load_image
from stngan.faces.mtcnn import MTCNN, crops
from stngan.faces.template import five_points


@pytest.fixture(scope="module")
def mtcnn() -> MTCNN:
    return MTCNN(20)


@pytest.mark.parametrize("name", ["frontal", "sanogo", "three_quarter"])
def test_points_agree_with_dlib_landmarks(mtcnn, face_images, face_analyses, name):
    boxes, scores, points = mtcnn.detect(face_images[name])
    assert boxes.shape == (1, 4) and scores.shape == (1,) and points.shape == (1, 5, 2)
    assert scores[0] > 0.9
    lm = face_analyses[name][0].landmarks
    width = face_analyses[name][0].box.width
    error = np.linalg.norm(points[0] - five_points(lm), axis=1) / width
    assert error.max() < 0.1, error  # image-left eye, image-right eye, nose, mouth corners, in that order


def test_no_face_in_a_silhouette_or_a_flat_image(mtcnn, face_data_dir):
    assert len(mtcnn.detect(load_image(face_data_dir / "nba_silhouette_noface.jpg"))[0]) == 0
    assert len(mtcnn.detect(np.full((240, 320, 3), 128, np.uint8))[0]) == 0


def test_small_face_needs_a_small_min_face(face_data_dir):
    tiny = load_image(face_data_dir / "nba_bez_mbeng_tiny.jpg")  # face ~37 px
    assert len(MTCNN(20).detect(tiny)[0]) == 1
    assert len(MTCNN(100).detect(tiny)[0]) == 0  # its pyramid starts below the 12-px P-Net window


def test_crops_zero_pad_beyond_the_image():
    img = np.full((10, 10, 3), 200, np.uint8)
    out = crops(img, np.array([[-10.0, -10.0, 9.0, 9.0]]), 4)
    assert out.shape == (1, 4, 4, 3)
    assert out[0, 0, 0].max() == 0 and out[0, 3, 3].min() == 200


def test_union_adds_the_profile_blazeface_finds(face_data_dir, face_analyses):
    profile = load_image(face_data_dir / "feat_bw_profile.jpg")
    assert FaceDetector("mtcnn").detect(profile) == []
    union = FaceDetector("mtcnn+blazeface").detect_with_points(profile)
    assert len(union) == 1 and union[0].points.shape == (5, 2)


def test_union_boxes_are_in_dlib_convention(face_images, face_analyses):
    dlib_box = face_analyses["frontal"][0].box
    for kind in ("mtcnn", "blazeface"):
        box = FaceDetector(kind).detect(face_images["frontal"])[0]
        assert box.iou(dlib_box) > 0.7, kind


def test_blazeface_windows_find_a_small_face_the_whole_frame_misses(face_images, face_analyses):
    import cv2

    from stngan.faces.blazeface import BlazeFace, detect_on_tiles, tile_origins

    assert tile_origins(720, 320) == [0, 240, 400] and tile_origins(200, 320) == [0]
    img, face = face_images["frontal"], face_analyses["frontal"][0]
    s = 40 / face.box.width
    small = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    canvas = np.full((720, 1280, 3), 90, np.uint8)
    canvas[500:500 + small.shape[0], 900:900 + small.shape[1]] = small
    model = BlazeFace("full")
    assert model.detect(canvas) == []
    found = detect_on_tiles(model, canvas, 320)
    cx, cy = (face.box.center[0] + 0.5) * s - 0.5 + 900, (face.box.center[1] + 0.5) * s - 0.5 + 500
    assert any(b.left < cx < b.right and b.top < cy < b.bottom for b, _ in found)


def test_face_cut_by_the_frame_edge_is_found_by_looking_past_the_border(face_images, face_analyses):
    """A frame edge between the eyes (one eye outside): P-Net needs windows reaching past the border."""
    lm = face_analyses["outdoor"][0].landmarks
    right_eye, left_eye = lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)
    cut = int(right_eye[0] + 0.4 * (left_eye[0] - right_eye[0]))
    half = np.ascontiguousarray(face_images["outdoor"][:, cut:])
    assert len(MTCNN(20, edge=0).detect(half)[0]) == 0
    boxes, scores, points = MTCNN(20).detect(half)
    assert len(boxes) == 1 and scores[0] > 0.9
    assert boxes[0][0] < 0 < boxes[0][2]  # the box reaches past the edge, where the face continues


def test_a_weak_blazeface_only_box_needs_the_cascade_to_confirm_it(face_data_dir, face_images):
    """Cartoon letters score 0.54 in BlazeFace (a false face); the union asks R-Net/O-Net, which say no,
    while they confirm real faces at any quarter turn."""
    cartoon = load_image(face_data_dir / "feat_cartoon_noface.jpg")
    blaze = FaceDetector("blazeface").detect(cartoon)
    assert len(blaze) == 1 and blaze[0].score < 0.55
    assert FaceDetector("mtcnn+blazeface").detect(cartoon) == []
    cascade = MTCNN(20)
    assert cascade.face_probability(cartoon, blaze[0].center, blaze[0].width) < 0.8
    for turns in range(4):
        face = np.ascontiguousarray(np.rot90(face_images["frontal"], turns))
        h, w = face.shape[:2]
        assert cascade.face_probability(face, (w / 2, h / 2), 0.6 * w) > 0.9, turns


def test_onnx_runtime_cascade_equals_the_torch_one(face_images):
    """ONNX Runtime (the default where installed) and eager torch find the same faces, boxes and points."""
    torch_mtcnn, onnx_mtcnn = MTCNN(20, runtime="torch"), MTCNN(20, runtime="onnx")
    assert onnx_mtcnn.runtime == "onnx" and MTCNN(20).runtime == "onnx"  # onnxruntime is a dependency
    for name in ("frontal", "sanogo", "three_quarter", "astronaut"):
        (b0, s0, p0), (b1, s1, p1) = torch_mtcnn.detect(face_images[name]), onnx_mtcnn.detect(face_images[name])
        assert b0.shape == b1.shape and len(b0) >= 1
        np.testing.assert_allclose(b1, b0, atol=1e-3)
        np.testing.assert_allclose(s1, s0, atol=1e-5)
        np.testing.assert_allclose(p1, p0, atol=1e-3)


def test_without_onnxruntime_the_cascade_runs_on_torch(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    assert MTCNN(20).runtime == "torch"
    with pytest.raises(ValueError, match="unknown MTCNN runtime"):
        MTCNN(20, runtime="tflite")


def test_an_unwritable_export_cache_falls_back_to_torch_unless_onnx_was_asked(tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    monkeypatch.setenv("STNGAN_CACHE", str(blocker))  # $STNGAN_CACHE/onnx cannot be created
    with pytest.warns(RuntimeWarning, match="MTCNN runs on torch"):
        mtcnn = MTCNN(20)
    assert mtcnn.runtime == "torch" and all(isinstance(net, torch.nn.Module) for net in mtcnn.nets)
    with pytest.raises(OSError):
        MTCNN(20, runtime="onnx")


def test_the_onnx_exports_are_made_once_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("STNGAN_CACHE", str(tmp_path))
    MTCNN(20, runtime="onnx")
    files = sorted((tmp_path / "onnx").iterdir())
    assert [f.name.split("-")[1] for f in files] == ["onet", "pnet", "rnet"]  # no temporary file left
    stamps = [f.stat().st_mtime_ns for f in files]
    MTCNN(20, runtime="onnx")
    assert sorted((tmp_path / "onnx").iterdir()) == files and [f.stat().st_mtime_ns for f in files] == stamps
