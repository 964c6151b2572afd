"""torch Datasets over a store: item contract, determinism, flips, DataLoader workers, windows."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from data_fixtures import build_300vw
from stngan.data import FaceStore, StoreError
from stngan.data.datasets import FrameDataset, WindowDataset
from stngan.data.prepare import prepare_300vw
from stngan.faces import N_COND_CHANNELS, flip_landmarks, mask_geometry, rasterize, render_condition


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    fx = build_300vw(tmp_path_factory.mktemp("300vw"))
    dst = tmp_path_factory.mktemp("store") / "store"
    prepare_300vw(fx.root, dst, progress=False)
    return dst


def test_frame_item_contract(store_path):
    ds = FrameDataset(store_path, split="train")
    assert len(ds) == 7
    item = ds[2]
    assert item["index"] == 2
    assert item["x"].shape == (3, 128, 128) and item["x"].dtype == torch.float32
    assert -1.0 <= item["x"].min() and item["x"].max() <= 1.0
    assert item["mask"].shape == (1, 128, 128) and set(item["mask"].unique().tolist()) == {0.0, 1.0}
    assert torch.equal(item["x_hat"], item["x"] * (1 - item["mask"]))
    assert item["cond"].shape == (N_COND_CHANNELS, 128, 128) and item["cond"].dtype == torch.float32
    assert FrameDataset(store_path, landmarks=False)[0]["cond"].shape == (0, 128, 128)


def test_unflipped_item_is_the_stored_face(store_path):
    ds = FrameDataset(store_path, split="test", mask_jitter=0.0, hflip=0.0)
    store = FaceStore(store_path)
    i = int(ds.indices[1])
    item = ds[1]
    x = (store.crop(i).astype(np.float32) / 127.5 - 1).transpose(2, 0, 1)
    np.testing.assert_allclose(item["x"].numpy(), x, atol=1e-6)
    lm = store.landmarks(i)
    np.testing.assert_array_equal(item["mask"][0].numpy(), rasterize(mask_geometry(lm), 128, 128))
    np.testing.assert_allclose(item["cond"].numpy(), render_condition(lm), atol=1e-6)


def test_flip_mirrors_image_mask_and_condition_together(store_path):
    plain = FrameDataset(store_path, mask_jitter=0.0, hflip=0.0)[0]
    flipped = FrameDataset(store_path, mask_jitter=0.0, hflip=1.0)[0]
    for key in ("x", "mask", "cond", "x_hat"):
        assert torch.equal(flipped[key], plain[key].flip(-1))
    # ... and they are the arrays of the mirrored face
    lm = flip_landmarks(FaceStore(store_path).landmarks(0), 128)
    np.testing.assert_allclose(flipped["cond"].numpy(), render_condition(lm), atol=1e-5)
    mirrored_mask = rasterize(mask_geometry(lm), 128, 128)
    assert (mirrored_mask != flipped["mask"][0].numpy()).mean() < 1e-3


def test_randomness_is_a_function_of_seed_epoch_index(store_path):
    a, b = FrameDataset(store_path, seed=1), FrameDataset(store_path, seed=1)
    assert all(torch.equal(a[3][k], b[3][k]) for k in ("x", "mask", "cond"))
    masks = set()
    for epoch in range(6):
        a.set_epoch(epoch)
        masks.add(a[3]["mask"].numpy().tobytes())
    assert len(masks) > 1  # the jitter changes with the epoch
    a.set_epoch(0)
    c = FrameDataset(store_path, seed=2)
    assert any(not torch.equal(a[i]["mask"], c[i]["mask"]) for i in range(len(a)))


def test_dataloader_workers(store_path):
    ds = FrameDataset(store_path)
    _ = ds[0]  # open the maps in the parent: they must not travel to the workers
    assert pickle.loads(pickle.dumps(ds.store))._maps is None
    batches = list(DataLoader(ds, batch_size=4, num_workers=2))
    assert [b["x"].shape[0] for b in batches] == [4, 3]
    assert torch.equal(batches[0]["mask"][1], ds[1]["mask"])


def test_window_item_contract(store_path):
    ds = WindowDataset(store_path, split="train", T=3)
    store = FaceStore(store_path)
    assert len(ds) == 3
    item = ds[2]
    assert item["x"].shape == (3, 3, 128, 128) and item["mask"].shape == (3, 1, 128, 128)
    assert item["cond"].shape == (3, N_COND_CHANNELS, 128, 128) and item["x_hat"].shape == item["x"].shape
    frames = [store.meta(int(i))["frame"] for i in ds.windows[2]]
    assert frames == [5, 6, 7]  # never across the missing frame 4
    last = FrameDataset(store_path, mask_jitter=0.0, hflip=0.0)
    k = int(np.flatnonzero(last.indices == ds.windows[2][-1])[0])
    assert torch.equal(item["x"][-1], last[k]["x"]) and torch.equal(item["mask"][-1], last[k]["mask"])
    assert WindowDataset(store_path, T=3, landmarks=False)[0]["cond"].shape == (3, 0, 128, 128)


def test_window_frames_share_one_flip_draw(store_path):
    """data.hflip reaches STN windows, one draw per window: all frames mirrored or none."""
    plain = WindowDataset(store_path, T=3)
    flipped = WindowDataset(store_path, T=3, hflip=1.0)[2]
    assert torch.equal(flipped["x"], plain[2]["x"].flip(-1))
    outcomes = set()
    for seed in range(6):
        half = WindowDataset(store_path, T=3, hflip=0.5, seed=seed)
        for i in range(len(half)):
            x, ref = half[i]["x"], plain[i]["x"]
            assert torch.equal(x, ref) or torch.equal(x, ref.flip(-1)), (seed, i)
            outcomes.add(torch.equal(x, ref))
    assert outcomes == {True, False}


def test_empty_selection_is_a_clear_error(store_path):
    with pytest.raises(StoreError, match="no faces in split 'val'"):
        FrameDataset(store_path, split="val")
    with pytest.raises(StoreError, match="no 9-frame windows"):
        WindowDataset(store_path, T=9)
    with pytest.raises(StoreError, match="not a prepared face store"):
        FrameDataset(store_path.parent / "nothing")


def test_tone_changes_x_only_and_x_hat_follows(store_path):
    from stngan.data.tone import Tone

    plain = FrameDataset(store_path, split="train", mask_jitter=0.0, hflip=0.0)
    toned = FrameDataset(store_path, split="train", mask_jitter=0.0, hflip=0.0, tone=1.0)
    for i in range(3):
        a, b = plain[i], toned[i]
        tone = Tone.draw(np.random.default_rng([0, 0, i]), 1.0)  # no flip / jitter draws precede it
        np.testing.assert_allclose(b["x"].numpy(), tone.apply(a["x"].numpy()), atol=1e-6)
        assert not torch.allclose(a["x"], b["x"])
        assert torch.equal(a["mask"], b["mask"]) and torch.equal(a["cond"], b["cond"])
        assert torch.equal(b["x_hat"], b["x"] * (1 - b["mask"]))
    assert torch.equal(FrameDataset(store_path, tone=0.0)[1]["x"], FrameDataset(store_path)[1]["x"])


def test_one_tone_per_window(store_path):
    from stngan.data.tone import Tone

    plain, toned = WindowDataset(store_path, T=3), WindowDataset(store_path, T=3, tone=1.0)
    a, b = plain[0], toned[0]
    tone = Tone.draw(np.random.default_rng([0, 0, 0]), 1.0)
    for t in range(3):
        np.testing.assert_allclose(b["x"][t].numpy(), tone.apply(a["x"][t].numpy()), atol=1e-6)


@pytest.mark.parametrize("hflip", [0.0, 1.0])
def test_skin_tone_spares_the_mirrored_eyes_and_mouth_with_the_face(store_path, hflip):
    from stngan.data.tone import Tone, bright_parts

    plain = FrameDataset(store_path, split="train", mask_jitter=0.0, hflip=hflip)
    skin = FrameDataset(store_path, split="train", mask_jitter=0.0, hflip=hflip, tone=1.0, tone_mode="skin")
    for i in range(3):
        a, b = plain[i], skin[i]
        assert set(a) == set(b)  # the parts map does not reach the batches
        rng = np.random.default_rng([0, 0, i])
        if hflip:
            assert rng.random() < hflip  # the flip draw
        tone = Tone.draw(rng, 1.0)
        crop, lm = skin.face(i)
        parts = bright_parts(lm, *crop.shape[:2])
        parts = parts[:, ::-1] if hflip else parts
        np.testing.assert_allclose(b["x"].numpy(), tone.apply(a["x"].numpy(), parts), atol=1e-6)
        assert torch.equal(b["x_hat"], b["x"] * (1 - b["mask"]))
    with pytest.raises(ValueError, match="tone_mode"):
        FrameDataset(store_path, tone_mode="melanin")


def test_skin_tone_windows_keep_the_item_contract(store_path):
    a, b = WindowDataset(store_path, T=3, tone=1.0), WindowDataset(store_path, T=3, tone=1.0, tone_mode="skin")
    assert set(a[0]) == set(b[0]) and b[0]["x"].shape == a[0]["x"].shape
