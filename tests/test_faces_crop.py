"""CropTransform: coordinate maps, cropping (borders, anti-aliasing) and pasting back."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from stngan.faces import Box, CropTransform, mask_geometry, rasterize


def _blob_frame(h: int, w: int, x: float, y: float, sigma: float) -> np.ndarray:
    """Grey Gaussian blob (peak 250 on 0) centred at the continuous point (x, y)."""
    yy, xx = np.mgrid[0:h, 0:w]
    g = 250.0 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    return np.repeat(np.rint(g).astype(np.uint8)[..., None], 3, axis=2)


def _centroid(img: np.ndarray) -> np.ndarray:
    v = img[..., 0].astype(np.float64)
    yy, xx = np.mgrid[0:v.shape[0], 0:v.shape[1]]
    return np.array([(v * xx).sum(), (v * yy).sum()]) / v.sum()


def test_from_box_pads_and_squares():
    t = CropTransform.from_box(Box(10.0, 20.0, 110.0, 80.0), pad=0.2, size=128)
    assert (t.cx, t.cy, t.side, t.size) == (60.0, 50.0, 140.0, 128)
    corners = t.to_crop(np.array([[t.cx - t.side / 2, t.cy - t.side / 2], [t.cx + t.side / 2, t.cy + t.side / 2]]))
    assert np.allclose(corners, [[-0.5, -0.5], [127.5, 127.5]])  # square edges = crop's outer pixel edges
    assert np.allclose(t.to_crop(np.array([60.0, 50.0])), [63.5, 63.5])


def test_to_frame_inverts_to_crop_and_matrices_agree():
    rng = np.random.default_rng(1)
    t = CropTransform(cx=311.7, cy=-20.25, side=97.3, size=128)
    pts = rng.uniform(-500, 1500, size=(1000, 2))
    assert np.abs(t.to_frame(t.to_crop(pts)) - pts).max() < 1e-6
    assert np.abs(t.to_crop(t.to_frame(pts)) - pts).max() < 1e-6
    homog = np.column_stack([pts, np.ones(len(pts))])
    assert np.allclose(homog @ t.matrix.T, t.to_crop(pts))
    assert np.allclose(np.vstack([t.matrix, [0, 0, 1]]) @ np.vstack([t.inverse_matrix, [0, 0, 1]]), np.eye(3))
    assert t.to_crop(pts.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("side", [55.0, 127.0, 180.0, 560.0])  # upscale 2.3x .. downscale 4.4x
def test_crop_pixels_match_to_crop(side):
    """A blob at a sub-pixel frame point lands where to_crop says: checks the pixel-centre convention."""
    x, y = 301.3, 197.8
    frame = _blob_frame(400, 600, x, y, sigma=3.0 * side / 128)  # 3 crop px wide in every crop
    t = CropTransform(cx=x + 0.37 * side / 4, cy=y - 0.21 * side / 4, side=side, size=128)
    found = _centroid(t.crop(frame))
    assert np.abs(found - t.to_crop(np.array([x, y]))).max() < 0.05


def test_landmark_round_trip_through_crop(face_images, astronaut_face, face_landmark_predictor):
    """Landmarks predicted on the crop and mapped back agree with those predicted on the frame."""
    img, face = face_images["astronaut"], astronaut_face
    b = face.box
    transforms = {
        "integer shift": CropTransform(b.center[0] + 0.5, b.center[1] + 0.5, 128, 128),  # crop = pixel copy
        "paper crop": CropTransform.from_box(b, size=128),
        "2x crop": CropTransform.from_box(b, size=256),
    }
    for name, t in transforms.items():
        corners = t.to_crop(np.array([[b.left, b.top], [b.right, b.bottom]]))
        crop_box = Box(*corners[0], *corners[1])
        back = t.to_frame(face_landmark_predictor.predict(t.crop(img), crop_box))
        diff = back - face.landmarks
        if name == "integer shift":
            assert np.abs(diff).max() < 1e-4, name
        assert np.abs(diff.mean(axis=0)).max() < 0.5, name  # no systematic shift
        assert np.linalg.norm(diff, axis=1).mean() < 1.0, name  # dlib rounds landmarks to whole pixels


def test_box_partly_outside_frame_replicates_border():
    frame = skdata.astronaut()
    # scale 1 and an integer offset: crop pixel (v, u) is frame pixel (v - 10, u - 20), clamped to the frame
    t = CropTransform(cx=-20 + 63.5, cy=-10 + 63.5, side=128, size=128)
    crop = t.crop(frame)
    rows = np.clip(np.arange(128) - 10, 0, 511)
    cols = np.clip(np.arange(128) - 20, 0, 511)
    assert np.array_equal(crop, frame[rows][:, cols])


@pytest.mark.parametrize("t", [CropTransform(-300.0, -300.0, 100.0), CropTransform(500.0, 20.0, 900.0),
                               CropTransform(2000.0, 256.0, 3000.0)])
def test_crops_far_outside_or_huge_work(t):
    crop = t.crop(skdata.astronaut())
    assert crop.shape == (128, 128, 3) and crop.dtype == np.uint8


def test_antialiasing_reduces_aliasing():
    """Shrinking 1-px stripes 4x: without a pre-blur they alias into strong bands, with it they turn grey."""
    stripes = np.zeros((600, 600, 3), np.uint8)
    stripes[:, ::2] = 255
    t = CropTransform(cx=300.3, cy=300.0, side=500, size=128)  # 3.9x: stripes alias to wide bands
    naive = cv2.warpAffine(stripes, t.matrix, (128, 128), flags=cv2.INTER_LINEAR)
    smooth = t.crop(stripes)
    assert naive[..., 0].astype(float).std() > 40
    assert smooth[..., 0].astype(float).std() < 5
    assert abs(smooth[..., 0].mean() - 127.5) < 3


def test_antialiasing_is_closer_to_area_average_on_a_photo():
    frame = skdata.astronaut()
    t = CropTransform(cx=256.0 - 0.5, cy=256.0 - 0.5, side=512, size=128)  # exact 4x4 blocks of the frame
    reference = cv2.resize(frame, (128, 128), interpolation=cv2.INTER_AREA).astype(float)
    naive = cv2.warpAffine(frame, t.matrix, (128, 128), flags=cv2.INTER_LINEAR).astype(float)
    err_naive = np.abs(naive - reference).mean()
    err_aa = np.abs(t.crop(frame).astype(float) - reference).mean()
    assert err_aa < 0.8 * err_naive


@pytest.mark.parametrize("box", [Box(-40.0, -30.0, 60.0, 70.0), Box(180.0, 80.0, 260.0, 160.0),
                                 Box(470.0, 480.0, 530.0, 540.0), Box(200.0, 200.0, 230.0, 230.0)])
def test_paste_changes_only_mask_pixels(box):
    frame = skdata.astronaut()
    t = CropTransform.from_box(box)
    rng = np.random.default_rng(3)
    generated = rng.integers(0, 256, size=(128, 128, 3), dtype=np.uint8)
    cx, cy = box.center
    r = box.width * 0.45
    yy, xx = np.mgrid[0:512, 0:512]
    mask = ((xx - cx) ** 2 + (yy - cy) ** 2 <= r * r).astype(np.uint8)
    frame_before = frame.copy()
    out = t.paste(frame, generated, mask)
    assert np.array_equal(frame, frame_before)  # input untouched
    keep = mask == 0
    assert np.array_equal(out[keep], frame[keep])
    assert (out[mask == 1] != frame[mask == 1]).any(axis=-1).mean() > 0.9


def test_crop_then_paste_restores_face(astronaut_face, face_images):
    frame = face_images["astronaut"]
    t = CropTransform.from_box(astronaut_face.box, size=256)
    mask = rasterize(mask_geometry(astronaut_face.landmarks), *frame.shape[:2])
    out = t.paste(frame, t.crop(frame), mask)
    diff = np.abs(out.astype(int) - frame.astype(int))[mask == 1]
    assert diff.mean() < 3.0


def test_paste_empty_mask_is_identity_copy():
    frame = skdata.astronaut()
    out = CropTransform(100.0, 100.0, 50.0).paste(frame, np.zeros((128, 128, 3), np.uint8),
                                                   np.zeros(frame.shape[:2], bool))
    assert np.array_equal(out, frame) and out is not frame


def test_paste_rejects_bad_inputs():
    frame = skdata.astronaut()
    t = CropTransform(100.0, 100.0, 50.0)
    with pytest.raises(ValueError):
        t.paste(frame, np.zeros((64, 64, 3), np.uint8), np.zeros((512, 512), np.uint8))
    with pytest.raises(ValueError):
        t.paste(frame, np.zeros((128, 128, 3), np.uint8), np.zeros((512, 500), np.uint8))
    with pytest.raises(ValueError):
        t.paste(frame, np.zeros((128, 128, 3), np.uint8), np.full((512, 512), 2, np.uint8))


def test_dict_round_trip_and_validation():
    t = CropTransform(12.25, -3.5, 77.125, 64)
    assert CropTransform.from_dict(json.loads(json.dumps(t.to_dict()))) == t
    with pytest.raises(ValueError):
        CropTransform(0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        CropTransform(0.0, 0.0, 10.0, size=0)
