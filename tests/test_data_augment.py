"""Pose (roll, zoom) and occluder augmentation of training faces: stngan.data.augment / occluders, FrameDataset,
data.rotate / data.scale / data.occluders."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from data_fixtures import image_store
from stngan import config
from stngan.config import ConfigError
from stngan.data.augment import FaceAugment, augmented_face, pose_matrix, posed
from stngan.data.datasets import FrameDataset
from stngan.data.occluders import REACH_IOD, draw_occluder
from stngan.data.sample import frame_sample, to_unit_range
from stngan.data.tone import Tone, toned
from stngan.faces import mask_geometry, rasterize, render_condition
from stngan.faces.landmarks import LEFT_EYE, MOUTH, NOSE, RIGHT_EYE
from stngan.faces.masks import MaskGeometry
from stngan.training.data import build_dataset

CONFIGS = Path(__file__).parent.parent / "configs"
POSE = dict(rotate=25.0, scale=0.15)
PARTS = list(RIGHT_EYE) + list(LEFT_EYE) + list(NOSE) + list(MOUTH)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return image_store(tmp_path_factory.mktemp("faces"))


def bilinear(img: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """(H, W) float image sampled at (N, 2) (x, y) points."""
    maps = pts.astype(np.float32).reshape(1, -1, 2)
    return cv2.remap(img.astype(np.float32), maps[..., 0], maps[..., 1], cv2.INTER_LINEAR)[0]


def test_default_items_are_the_items_of_before(store):
    """No augmentation: item = frame_sample + tone with the per-item generator, as before the options existed."""
    kw = dict(split="test", mask_jitter=3.0, hflip=0.5, seed=7, tone=0.5)
    ds, zero = FrameDataset(store, **kw), FrameDataset(store, **kw, rotate=0.0, scale=0.0, occluders=0.0)
    for epoch in (0, 2):
        ds.set_epoch(epoch)
        zero.set_epoch(epoch)
        for index in range(len(ds)):
            rng = np.random.default_rng([7, epoch, index])
            i = int(ds.indices[index])
            old = toned(frame_sample(ds.store.crop(i), ds.store.landmarks(i), rng, mask_jitter=3.0, hflip=0.5,
                                     with_cond=True), Tone.draw(rng, 0.5))
            for item in (ds[index], zero[index]):
                for key, value in old.items():
                    assert np.array_equal(item[key].numpy(), value), key


def test_pose_maps_image_and_landmarks_with_one_transform(store):
    """A picture of the landmarks (their condition maps), posed with its landmarks: the posed picture is bright
    exactly at the posed landmarks, and equals the picture re-drawn from them."""
    lm = FrameDataset(store, split="test").store.landmarks(0)
    picture = (render_condition(lm, size=128).max(0) * 255).astype(np.uint8)
    rgb = np.repeat(picture[..., None], 3, axis=2)
    moved = 0
    for seed in range(6):
        img, lm2 = augmented_face(rgb, lm, FaceAugment(**POSE), [seed, 0, 0])
        inside = ((lm2 >= 1) & (lm2 <= 126)).all(1)
        assert inside.mean() > 0.9
        at_new = bilinear(img[..., 0], lm2[inside])
        at_old = bilinear(img[..., 0], lm[inside])
        assert at_new.min() > 150, at_new.min()                        # every landmark on its own line
        moved += (at_old < 100).mean()
        redrawn = render_condition(lm2, size=128).max(0) * 255
        assert np.abs(img[..., 0].astype(np.float32) - redrawn).mean() < 6.0
    assert moved / 6 > 0.3                                             # and the pose did move them


def test_pose_matrix_stays_within_its_bounds():
    for seed in range(50):
        m = pose_matrix(np.random.default_rng(seed), 128, **POSE)
        s = np.sqrt(abs(np.linalg.det(m[:2, :2])))
        angle = np.degrees(np.arctan2(m[1, 0], m[0, 0]))
        assert 0.85 - 1e-9 <= s <= 1.15 + 1e-9 and abs(angle) <= 25 + 1e-9
        np.testing.assert_allclose(m[:2, :2] @ [63.5, 63.5] + m[:2, 2], [63.5, 63.5], atol=1e-9)  # about the centre
    with pytest.raises(AssertionError):
        posed(np.zeros((128, 128), np.uint8), np.zeros((68, 2), np.float32), np.eye(3))


def test_masks_and_condition_are_redrawn_from_the_posed_landmarks(store):
    ds = FrameDataset(store, split="test", mask_jitter=0.0, hflip=0.0, seed=3, **POSE)
    turned = 0
    for index in range(len(ds)):
        item = ds[index]
        crop, lm = ds.face(index)
        mask = item["mask"][0].numpy()
        np.testing.assert_array_equal(mask, rasterize(mask_geometry(lm), 128, 128))
        np.testing.assert_allclose(item["cond"].numpy(), render_condition(lm, size=128), atol=1e-6)
        px = np.rint(lm[PARTS]).astype(int)
        ok = ((px >= 0) & (px < 128)).all(1)
        assert mask[px[ok, 1], px[ok, 0]].all()                          # eyes, nose and mouth stay covered
        np.testing.assert_array_equal(item["x"].numpy(), to_unit_range(crop))
        turned += not np.allclose(lm, ds.store.landmarks(int(ds.indices[index])), atol=1.0)
    assert turned == len(ds)


def test_with_jitter_and_flip_the_mask_still_covers_the_parts(store):
    ds = FrameDataset(store, split="test", mask_jitter=3.0, hflip=0.0, seed=5, **POSE)
    for index in range(len(ds)):
        mask, (_, lm) = ds[index]["mask"][0].numpy(), ds.face(index)
        px = np.rint(lm[PARTS]).astype(int)
        ok = ((px >= 0) & (px < 128)).all(1)
        assert mask[px[ok, 1], px[ok, 0]].all()


def test_occluders_stay_near_the_mask_overlap_it_and_change_only_their_pixels(store):
    ds = FrameDataset(store, split="test")
    kinds = set()
    for seed in range(40):
        i = seed % len(ds)
        crop, lm = ds.store.crop(i), ds.store.landmarks(i)
        occ = draw_occluder(np.random.default_rng(seed), crop, lm)
        kinds.add(occ.kind)
        pasted = occ.paste(crop)
        changed = (pasted != crop).any(2)
        assert changed.any() and not changed[occ.alpha == 0].any()
        mask = rasterize(mask_geometry(lm), 128, 128)
        dist = cv2.distanceTransform(1 - mask, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        iod = np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0))
        assert dist[occ.alpha > 0].max() <= REACH_IOD * iod + 1
        circle = rasterize(MaskGeometry((occ.circle,)), 128, 128).astype(bool)
        covered = (occ.alpha > 0.5)[circle].mean()
        assert 0.02 < covered < 0.9, covered                              # part of the circle, never all of it
        assert (occ.alpha[~mask.astype(bool)] > 0.5).sum() > 20           # and visible outside the mask
    assert kinds == {"hand", "microphone"}


def test_occluder_is_in_the_target_and_only_there(store):
    kw = dict(split="test", mask_jitter=0.0, hflip=0.0, seed=2)
    plain, occluded = FrameDataset(store, **kw), FrameDataset(store, **kw, occluders=1.0)
    for index in range(len(plain)):
        a, b = plain[index], occluded[index]
        assert torch.equal(a["mask"], b["mask"]) and torch.equal(a["cond"], b["cond"])
        diff = (a["x"] != b["x"]).any(0).numpy()
        assert diff.any()
        _, lm = plain.face(index)
        dist = cv2.distanceTransform(1 - a["mask"][0].numpy().astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        iod = np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0))
        assert dist[diff].max() <= REACH_IOD * iod + 1
        assert (diff & (a["mask"][0].numpy() > 0)).any()                  # the hole hides part of the occluder
        assert torch.equal(b["x_hat"], b["x"] * (1 - b["mask"]))


def test_augmentation_is_a_function_of_seed_epoch_index(store):
    kw = dict(split="test", seed=4, occluders=0.7, tone=0.3, **POSE)
    a, b = FrameDataset(store, **kw), FrameDataset(store, **kw)
    b.set_epoch(1)
    b.set_epoch(0)
    for index in range(len(a)):
        x, y = a[index], b[index]
        assert all(torch.equal(x[k], y[k]) for k in ("x", "mask", "cond"))
    b.set_epoch(1)
    assert not torch.equal(a[0]["x"], b[0]["x"])
    assert not torch.equal(a[0]["x"], FrameDataset(store, **{**kw, "seed": 5})[0]["x"])


def test_config_validates_and_wires_the_options(store):
    cfg = config.load(CONFIGS / "tiny_si_lm.yaml", [f"data.source={store}", "data.split=test", "data.rotate=25",
                                                     "data.scale=0.15", "data.occluders=0.3"])
    train, held_out = build_dataset(cfg, store), build_dataset(cfg, store, augment=False)
    assert train.augment == FaceAugment(25.0, 0.15, 0.3) and not held_out.augment.active
    defaults = config.load(None).data
    assert (defaults.rotate, defaults.scale, defaults.occluders) == (0.0, 0.0, 0.0)
    for override, message in [("data.rotate=60", "data.rotate must be in [0, 45] degrees"),
                              ("data.rotate=-1", "data.rotate must be in [0, 45] degrees"),
                              ("data.scale=0.7", "data.scale must be in [0, 0.5]"),
                              ("data.occluders=1.5", "data.occluders must be in [0, 1]")]:
        with pytest.raises(ConfigError, match="^" + message.replace("[", r"\[")):
            config.load(None, [override])
    with pytest.raises(ConfigError, match="data.rotate must be 0 unless model.kind is si or partialconv"):
        config.load(CONFIGS / "tiny_stn_lm.yaml", ["data.rotate=10"])
