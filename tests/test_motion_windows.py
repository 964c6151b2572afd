"""Known-motion STN windows (stngan.data.motion), the warping-consistency loss and training with it."""
from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from stngan import config
from stngan.config import ConfigError
from stngan.data.datasets import MotionWindowDataset
from stngan.data.motion import Motion, backward_flows, warp_image, warp_points
from stngan.faces import mask_geometry, rasterize, render_condition
from stngan.losses import backward_warp, warp_consistency_loss
from stngan.models.build import build_generator
from stngan.models.temporal import TemporalGenerator
from stngan.training.methods import build_method
from stngan.training.trainer import start_run

CONFIGS = Path(__file__).parent.parent / "configs"
DATA = Path(__file__).parent / "data"
SIZE = 128
MOVING = Motion(dx=2.5, dy=-1.5, scale=1.03, angle=math.radians(2.0), gain=1.0)


def smooth_image(seed: int = 0) -> np.ndarray:
    """(128, 128, 3) uint8 of a few broad Gaussian blobs: smooth enough that bilinear resampling is exact to
    about a grey level, textured enough that a wrong flow shows."""
    rng = np.random.default_rng(seed)
    gy, gx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    img = np.full((SIZE, SIZE, 3), 60.0)
    for _ in range(12):
        cx, cy, s = rng.uniform(10, 118), rng.uniform(10, 118), rng.uniform(8, 16)
        img += rng.uniform(30, 90, size=3) * np.exp(-((gx - cx) ** 2 + (gy - cy) ** 2) / (2 * s * s))[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def as_tensor(frames: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


@pytest.fixture(scope="module")
def still_store(tmp_path_factory) -> Path:
    from stngan.data.prepare.folder import prepare_folder

    photos = tmp_path_factory.mktemp("photos")
    for name in ("feat_0-f15-hao-ph.jpg", "feat_single_face.jpg", "nba_adama_sanogo.png"):
        shutil.copy(DATA / name, photos / name)
    store = tmp_path_factory.mktemp("store") / "faces"
    prepare_folder(photos, store, progress=False)
    return store


def test_the_known_flow_warps_frame_t_minus_1_onto_frame_t():
    still = smooth_image()
    T = 4
    matrices = MOVING.matrices(T, SIZE)
    frames = as_tensor([warp_image(still, m) for m in matrices])
    flow, valid = backward_flows(matrices, SIZE)
    assert valid[0].sum() == 0 and flow[0].any() == 0 and all(valid[t].mean() > 0.8 for t in range(1, T))
    for t in range(1, T):
        region = torch.from_numpy(valid[t, 0]).bool()
        warped = backward_warp(frames[t - 1:t], torch.from_numpy(flow[t:t + 1]))[0]
        exact = (warped - frames[t]).abs().mean(0)[region].mean().item() * 127.5
        unwarped = (frames[t - 1] - frames[t]).abs().mean(0)[region].mean().item() * 127.5
        assert exact < 0.5 and unwarped > 10 * exact, (t, exact, unwarped)


def test_the_middle_frame_is_the_still_and_motion_is_constant():
    matrices = MOVING.matrices(5, SIZE)
    np.testing.assert_allclose(matrices[2], np.eye(3), atol=1e-12)
    centre = np.array([[(SIZE - 1) / 2, (SIZE - 1) / 2]])
    path = np.concatenate([warp_points(centre, m) for m in matrices])
    np.testing.assert_allclose(np.diff(path, axis=0), [[2.5, -1.5]] * 4, atol=1e-4)
    scales = [np.sqrt(abs(np.linalg.det(m[:2, :2]))) for m in matrices]
    np.testing.assert_allclose(np.array(scales[1:]) / scales[:-1], 1.03, rtol=1e-9)


def test_window_landmarks_masks_and_condition_are_the_warped_ones(still_store):
    ds = MotionWindowDataset(still_store, T=3, shift=0.03, zoom=0.03, rotate=2.0, seed=1)
    assert len(ds) == 3
    for index in range(len(ds)):
        item = ds[index]
        lm, flow = item["landmarks"].numpy(), item["flow"]
        assert lm.shape == (3, 68, 2) and item["x"].shape == (3, 3, SIZE, SIZE) and flow.shape == (3, 2, SIZE, SIZE)
        assert not np.allclose(lm[0], lm[-1], atol=0.5)  # it moves
        for t in range(3):
            mask = rasterize(mask_geometry(lm[t]), SIZE, SIZE)
            np.testing.assert_array_equal(item["mask"][t, 0].numpy(), mask)
            np.testing.assert_allclose(item["cond"][t].numpy(), render_condition(lm[t], size=SIZE), atol=1e-6)
            assert torch.equal(item["x_hat"][t], item["x"][t] * (1 - item["mask"][t]))
        for t in range(1, 3):  # the landmarks of frame t−1 sit where the flow of frame t points
            pts = torch.from_numpy(lm[t])
            grid = (pts / (SIZE - 1) * 2 - 1).view(1, 1, 68, 2)
            f = torch.nn.functional.grid_sample(flow[t:t + 1], grid, align_corners=True)[0, :, 0].T
            np.testing.assert_allclose((pts + f).numpy(), lm[t - 1], atol=1e-3)


def test_window_draws_are_per_window_and_reproducible(still_store):
    kw = dict(T=3, mask_jitter=3.0, hflip=0.5, seed=4, tone=0.5, brightness=0.05)
    a, b = MotionWindowDataset(still_store, **kw)[1], MotionWindowDataset(still_store, **kw)[1]
    for key in ("x", "mask", "cond", "flow", "valid", "gain", "landmarks"):
        assert torch.equal(a[key], b[key]), key
    assert a["gain"][0] == 1 and torch.allclose(a["gain"][1:], a["gain"][1])


def test_l_warp_is_zero_for_a_consistent_output_and_positive_for_an_independent_one():
    still = smooth_image(1)
    T = 3
    matrices = MOVING.matrices(T, SIZE)
    flow, valid = backward_flows(matrices, SIZE)
    # frame t of a perfectly consistent output is exactly the warp of frame t−1 (constructed so)
    frames = [as_tensor([warp_image(still, matrices[0])])]
    for t in range(1, T):
        frames.append(backward_warp(frames[-1], torch.from_numpy(flow[t:t + 1])))
    y = torch.cat(frames)[None]
    mask = torch.ones(1, T, 1, SIZE, SIZE)
    args = (torch.from_numpy(flow)[None], mask, torch.from_numpy(valid)[None])
    loss, logs = warp_consistency_loss(y, *args)
    assert loss.item() < 1e-6 and logs["g/warp"] == pytest.approx(loss.item())
    independent = as_tensor([smooth_image(s) for s in (2, 3, 4)])[None].requires_grad_(True)
    loss, _ = warp_consistency_loss(independent, *args)
    assert loss.item() > 0.05
    loss.backward()
    assert independent.grad[0, 0].abs().sum() > 0 and independent.grad[0, -1].abs().sum() > 0
    # only pixels inside mask_t count; the known brightness step is accounted for
    assert warp_consistency_loss(independent, args[0], torch.zeros_like(mask), args[2])[0].item() == 0
    brighter = (y + 1) * 1.05 - 1
    brighter[:, 0] = y[:, 0]
    brighter[:, 2] = (y[:, 2] + 1) * 1.05 ** 2 - 1
    gain = torch.tensor([[1.0, 1.05, 1.05]])
    assert warp_consistency_loss(brighter, *args, gain=gain)[0].item() < 1e-5
    assert warp_consistency_loss(brighter, *args)[0].item() > 0.01


def test_stn_stays_causal_on_motion_windows(still_store):
    cfg = config.load(CONFIGS / "tiny_stn_lm.yaml")
    torch.manual_seed(0)
    g = build_generator(cfg.model)
    assert isinstance(g, TemporalGenerator)
    for block in g.blocks:  # non-zero temporal blocks, so frame T really depends on frames 1..T−1
        torch.nn.init.normal_(block.expand.weight, std=0.1)
    batch = torch.utils.data.default_collate([MotionWindowDataset(still_store, T=3)[i] for i in range(2)])
    g.eval()
    with torch.no_grad():
        raw = g(batch["x_hat"], batch["mask"], batch["cond"])
        assert raw.shape == batch["x"].shape
        changed = batch["x_hat"].clone()
        changed[:, -1] = 0
        raw2 = g(changed, batch["mask"], batch["cond"])
        first = batch["x_hat"].clone()
        first[:, 0] = 0
        raw3 = g(first, batch["mask"], batch["cond"])
    assert torch.equal(raw[:, :-1], raw2[:, :-1]) and not torch.equal(raw[:, -1], raw2[:, -1])
    assert not torch.equal(raw[:, -1], raw3[:, -1])  # frame T sees frame 1 through the 3D blocks


def test_l_warp_compares_the_frames_streaming_shows(still_store):
    """Frame T−1 of the pair is the last output of the window one frame earlier, not the window's SI frame."""
    cfg = config.load(CONFIGS / "tiny_stn_lm.yaml", ["data.motion.enabled=true", "loss.lambda_warp=1"])
    torch.manual_seed(0)
    method = build_method(cfg)
    batch = torch.utils.data.default_collate([MotionWindowDataset(still_store, T=3)[i] for i in range(2)])
    with torch.no_grad():
        y = method.inpaint(method.g, batch)
        assert torch.allclose(method.shown_pair(batch, y), y[:, -2:], atol=1e-6)  # zero blocks: STN ≡ SI
        for block in method.g.blocks:
            torch.nn.init.normal_(block.expand.weight, std=0.1)
        y = method.inpaint(method.g, batch)
        pair = method.shown_pair(batch, y)
    assert torch.equal(pair[:, 1], y[:, -1]) and not torch.allclose(pair[:, 0], y[:, -2], atol=1e-3)
    stream = {}
    with torch.no_grad():  # the streaming generator's output for frame 2 of a track is exactly pair[:, 0]
        for t in range(2):
            raw = torch.stack([method.g.stream_step([0], batch["x_hat"][i:i + 1, t], batch["mask"][i:i + 1, t],
                                                    batch["cond"][i:i + 1, t], stream.setdefault(i, {}))[0]
                               for i in range(2)])
    m = batch["mask"][:, 1]
    assert torch.allclose(batch["x_hat"][:, 1] * (1 - m) + raw * m, pair[:, 0], atol=1e-5)
    loss, logs = method.g_step_loss(batch)
    assert loss.requires_grad and logs["g/warp"] > 0


@pytest.mark.parametrize("override, message", [
    ("data.motion.enabled=true", "data.motion.enabled must be false unless model.kind is stn"),
    ("loss.lambda_warp=1", "loss.lambda_warp must be 0 unless data.motion.enabled is true"),
    ("loss.lambda_warp=-1", "loss.lambda_warp must be >= 0"),
    ("data.motion.shift=0.5", "data.motion.shift must be in [0, 0.1]"),
    ("data.motion.zoom=-0.1", "data.motion.zoom must be in [0, 0.2]"),
    ("data.motion.rotate=90", "data.motion.rotate must be in [0, 15]"),
    ("data.motion.brightness=.nan", "data.motion.brightness must be in [0, 0.2]"),
    ("data.motion.speed=1", "unknown config key 'data.motion.speed'"),
])
def test_impossible_motion_settings_are_refused_at_load(override, message):
    with pytest.raises(ConfigError, match=r"^" + message.replace("[", r"\[").replace("(", r"\(")) as err:
        config.load(None, [override])
    assert "\n" not in str(err.value)


def test_motion_needs_two_frames():
    with pytest.raises(ConfigError, match="model.T must be >= 2"):
        config.load(CONFIGS / "tiny_stn_lm.yaml", ["data.motion.enabled=true", "model.T=1"])
    cfg = config.load(CONFIGS / "tiny_stn_lm.yaml", ["data.motion.enabled=true", "loss.lambda_warp=5"])
    assert cfg.data.motion.enabled and cfg.loss.lambda_warp == 5.0
    assert config.load(None).loss.lambda_warp == 0 and not config.load(None).data.motion.enabled


def test_tiny_training_with_l_warp_runs(still_store, tmp_path):
    cfg = config.load(CONFIGS / "tiny_stn_lm.yaml", [
        f"data.source={still_store}", f"out_dir={tmp_path}", "data.workers=0", "data.motion.enabled=true",
        "data.motion.brightness=0.02", "loss.lambda_warp=10", "train.iters=4", "train.decay_start=2",
        "train.ckpt_every=4"])
    trainer = start_run(cfg)
    history = []
    trainer.fit(progress=False, on_step=lambda step, logs: history.append(logs))
    g_logs = [h for h in history if "g/warp" in h]
    assert len(history) == 4 and len(g_logs) == 2
    assert all(math.isfinite(h["g/warp"]) and h["g/warp"] > 0 for h in g_logs)
    assert (trainer.run_dir / "checkpoints" / "step-0000004").is_dir()
    saved = config.load(trainer.run_dir / "config.yaml")
    assert saved.data.motion.enabled and saved.loss.lambda_warp == 10
