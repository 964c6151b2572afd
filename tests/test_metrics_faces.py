"""Identity distances, landmark NME, dlib embeddings and flicker on hand-made and real cases."""
from __future__ import annotations

import numpy as np
import pytest
from skimage import data as skdata

from stngan.faces import CropTransform
from stngan.metrics.face_embedding import DlibFaceEmbedder
from stngan.metrics.flicker import backward_flow, warping_error
from stngan.metrics.identity import identity_distances, self_distance
from stngan.metrics.landmarks import crop_face_box, nme, predict_on_crops


def test_identity_distances_known_values():
    ref = np.array([[0.0, 0], [3, 0], [0, 4], [10, 10]])  # identity 7: three images; identity 9: one (skipped)
    out = ref.copy()
    out[0] = [0, 8]  # the inpainted version of image 0 moved away
    ids = np.array([7, 7, 7, 9])
    r = identity_distances(ref, out, ids)
    assert r.identity.tolist() == [7] and r.count.tolist() == [3]
    d_orig = np.array([(3 + 4) / 2, (3 + 5) / 2, (4 + 5) / 2])
    d_inp = np.array([(np.hypot(3, 8) + 4) / 2, (3 + 5) / 2, (4 + 5) / 2])
    assert r.original_mean[0] == pytest.approx(d_orig.mean()) and r.original_std[0] == pytest.approx(d_orig.std())
    assert r.inpainted_mean[0] == pytest.approx(d_inp.mean()) and r.inpainted_std[0] == pytest.approx(d_inp.std())
    assert r.fraction_farther == 1.0
    assert self_distance(ref, out).tolist() == [8.0, 0, 0, 0]


def test_identity_distances_bad_input():
    with pytest.raises(ValueError, match="identities must be"):
        identity_distances(np.zeros((3, 2)), np.zeros((3, 2)), np.zeros(2))
    assert len(identity_distances(np.zeros((2, 2)), np.zeros((2, 2)), np.array([-1, -1])).identity) == 0


def test_nme_known_value():
    t = np.zeros((1, 68, 2))
    t[0, 36], t[0, 45] = [0, 0], [10, 0]
    p = t.copy()
    p[0, 27:68] += [3, 4]  # every inner point 5 px off, inter-ocular distance 10 (the corners move too)
    assert nme(p, t).tolist() == pytest.approx([0.5])
    assert nme(t, t).tolist() == [0.0]
    with pytest.raises(ValueError, match="coincident"):
        nme(t * 0, t * 0)


def test_crop_face_box_matches_crop_transform():
    box = crop_face_box(128, 0.2)
    assert box.width == pytest.approx(128 / 1.4)
    ct = CropTransform(0.0, 0.0, 140.0)  # a 100-px box centred at 0 padded by 0.2
    assert ct.to_crop(np.array([[-50.0, -50.0]]))[0] == pytest.approx([box.left, box.top])


@pytest.fixture(scope="module")
def astronaut_crop(request):
    analyses = request.getfixturevalue("face_analyses")
    face = analyses["astronaut"][0]
    ct = CropTransform.from_box(face.box)
    return ct.crop(skdata.astronaut()), ct.to_crop(face.landmarks)


def test_dlib_landmarks_on_the_original_crop_are_close(astronaut_crop, face_landmark_predictor):
    crop, lm = astronaut_crop
    pred = predict_on_crops(face_landmark_predictor, crop[None], crop_face_box())
    assert nme(pred, lm[None])[0] < 0.08  # dlib's own error on the clean crop (a floor for outputs)


def test_dlib_embedding_same_face_close_other_far(astronaut_crop, face_images, face_analyses):
    crop, lm = astronaut_crop
    other = face_analyses["frontal"][0]
    ct = CropTransform.from_box(other.box)
    crops = np.stack([crop, crop, ct.crop(face_images["frontal"])])
    lms = np.stack([lm, lm, ct.to_crop(other.landmarks)])
    e = DlibFaceEmbedder().embed(crops, lms)
    assert e.shape == (3, 128)
    assert np.linalg.norm(e[0] - e[1]) == 0.0
    assert np.linalg.norm(e[0] - e[2]) > DlibFaceEmbedder.same_person_threshold


def _texture() -> np.ndarray:
    return np.ascontiguousarray(skdata.astronaut()[100:228, 120:248])


def test_flicker_static_frames_known_values():
    x = _texture()
    estimated, valid = backward_flow(x, x)
    assert np.median(np.abs(estimated)) < 0.01 and valid.mean() > 0.95
    flow = np.zeros_like(estimated)
    region = np.zeros(x.shape[:2], bool)
    region[40:80, 40:80] = True
    assert warping_error(x, x, flow, region) == 0.0
    brighter = x.copy()
    brighter[region] += 10  # astronaut crop has no value above 245 here
    assert int(x[region].max()) <= 245
    assert warping_error(x, brighter, flow, region) == pytest.approx(10.0)
    assert np.isnan(warping_error(x, x, flow, np.zeros_like(region)))


def test_flicker_follows_motion():
    big = skdata.astronaut()
    prev, cur = big[100:228, 120:248], big[100:228, 117:245]  # the content moves 3 px to the right
    flow, valid = backward_flow(prev, cur)
    region = np.zeros(prev.shape[:2], bool)
    region[30:100, 30:100] = True
    region &= valid
    assert np.median(flow[region][:, 0]) == pytest.approx(-3.0, abs=0.3)
    consistent = warping_error(prev, cur, flow, region)  # output that moves with the face
    rng = np.random.default_rng(0)
    noisy = np.clip(cur.astype(int) + rng.integers(-30, 31, cur.shape), 0, 255).astype(np.uint8)
    assert consistent < 6.0 < warping_error(prev, noisy, flow, region)
