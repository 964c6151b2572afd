"""model.exemplar on STN (not in the paper): donor windows, warm start from an SI, streaming inside the donor fill."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from data_fixtures import image_store, video_store
from helpers import moving_stn_model
from stngan import config
from stngan.config import EXEMPLAR_CHANNELS, ConfigError
from stngan.data.datasets import MotionWindowDataset, WindowDataset
from stngan.donors import exemplar as exemplar_mod
from stngan.donors.exemplar import RandomExemplar
from stngan.models.build import build_discriminator, build_generator, load_generator
from stngan.models.generator import background_copy
from stngan.models.temporal import pad_window_start
from stngan.training.run_folder import save_checkpoint
from stngan.training.warm_start import init_from

CONFIGS = Path(__file__).parent.parent / "configs"
TINY_SI, TINY_STN = CONFIGS / "tiny_si_lm.yaml", CONFIGS / "tiny_stn_lm.yaml"
SHIPPED_SI = Path(__file__).parent.parent / "stngan" / "assets" / "models" / "si_lm_fast"


def test_config_takes_exemplar_stn_and_still_needs_landmarks():
    on = config.load(TINY_STN, ["model.exemplar=true"]).model
    assert on.kind == "stn" and on.input_cond_channels == 5 + EXEMPLAR_CHANNELS
    demo = config.load(CONFIGS / "demo_stn_lm_exemplar_cpu.yaml")
    assert demo.model.kind == "stn" and demo.model.exemplar and demo.train.init_from
    for kind in ("stn", "si"):
        with pytest.raises(ConfigError, match="model.exemplar"):
            config.load(TINY_STN, [f"model.kind={kind}", "model.exemplar=true", "model.landmarks=false"])
    with pytest.raises(ConfigError, match="model.exemplar"):
        config.load(TINY_STN, ["model.kind=partialconv", "model.exemplar=true"])


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("stores")
    return {"images": image_store(root), "videos": video_store(root, frames=5)}


@pytest.fixture
def drawn(monkeypatch) -> list[tuple[int, bool]]:
    """(identity, mirrored) of every donor RandomExemplar warps, in call order."""
    calls: list[tuple[int, bool]] = []
    real = exemplar_mod.harmonised_donor

    def spy(bank, identity, mirrored, *args, **kwargs):
        calls.append((int(identity), bool(mirrored)))
        return real(bank, identity, mirrored, *args, **kwargs)

    monkeypatch.setattr(exemplar_mod, "harmonised_donor", spy)
    return calls


@pytest.mark.parametrize("kind", ["videos", "motion"])
def test_a_window_has_one_donor_warped_to_each_frame(stores, drawn, kind):
    T = 3
    common = dict(split="test", T=T, seed=0, exemplar=RandomExemplar())
    data = (WindowDataset(stores["videos"], **common) if kind == "videos"
            else MotionWindowDataset(stores["images"], shift=0.05, **common))
    plain = data_without_exemplar(data)
    identities = set()
    for index in range(len(plain)):
        start = len(drawn)
        item = data[index]
        assert item["cond"].shape == (T, 5 + EXEMPLAR_CHANNELS, 128, 128)
        window = drawn[start:]
        assert len(window) == T and len(set(window)) == 1, window  # one identity and mirror for all T frames
        identities.add(window[0])
        valid = item["cond"][:, 5 + 3]
        assert not torch.equal(valid[0], valid[-1])  # each frame's donor follows that frame's own landmarks
        assert torch.equal(item["cond"][:, :5], plain[index]["cond"])  # the landmark maps come first, as before
    assert len(identities) > 1  # windows differ (the draw is per window, not fixed)


def data_without_exemplar(data) -> list[dict]:
    """The first (up to) 4 items of ``data`` drawn without its exemplar."""
    data.exemplar, saved = None, data.exemplar
    try:
        return [data[i] for i in range(min(len(data), 4))]
    finally:
        data.exemplar = saved


def _si_checkpoint(root: Path, *overrides: str) -> Path:
    """A tiny SI-lm checkpoint with train weights (random, seed 1), written by the trainer's code."""
    cfg = config.load(TINY_SI, list(overrides))
    torch.manual_seed(1)
    g, d = build_generator(cfg.model), build_discriminator(cfg.model)
    return save_checkpoint(root, 10, cfg, g, g, d, {"step": 10})


def _window(b: int, T: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(2)
    x_hat, mask = torch.rand(b, T, 3, 128, 128) * 2 - 1, torch.zeros(b, T, 1, 128, 128)
    mask[..., 40:90, 30:100] = 1
    return x_hat * (1 - mask), mask, torch.rand(b, T, 5 + EXEMPLAR_CHANNELS, 128, 128) * 2 - 1


@pytest.mark.parametrize("source", ["exemplar si", "plain si", "shipped si_lm_fast"])
def test_a_warm_started_exemplar_stn_starts_as_its_si_on_every_frame(tmp_path, source):
    if source == "shipped si_lm_fast":
        cfg, ckpt = config.load(CONFIGS / "demo_stn_lm_exemplar_cpu.yaml", [f"train.init_from={SHIPPED_SI}"]), SHIPPED_SI
    else:
        ckpt = _si_checkpoint(tmp_path, *(["model.exemplar=true"] if source == "exemplar si" else []))
        cfg = config.load(TINY_STN, ["model.exemplar=true", f"train.init_from={ckpt}"])
    g, g_ema, d = build_generator(cfg.model), build_generator(cfg.model), build_discriminator(cfg.model)
    init_from(cfg, g, g_ema, d)
    si, si_cfg = load_generator(ckpt)
    keep = 5 + (EXEMPLAR_CHANNELS if si_cfg.model.exemplar else 0)  # a plain SI never sees the donor
    x_hat, mask, cond = _window(2, cfg.model.T)
    with torch.no_grad():
        for net in (g.eval(), g_ema.eval()):
            out = net(x_hat, mask, cond)
            for t in range(cfg.model.T):
                want = si(x_hat[:, t], mask[:, t], cond[:, t, :keep])
                assert torch.allclose(out[:, t], want, atol=1e-5), (source, t, (out[:, t] - want).abs().max())


@pytest.fixture(scope="module")
def exemplar_stn(tmp_path_factory) -> Path:
    """A tiny exemplar STN whose 3D blocks are not zero (so its output depends on the frames before)."""
    return moving_stn_model(tmp_path_factory.mktemp("exemplar_stn"), config.load(TINY_STN, ["model.exemplar=true"]), 3)


def _items(face, image: np.ndarray, track: int, count: int):
    """``count`` crops of one face moving 2 px right per frame, as the video pipeline gives them."""
    from stngan.faces.condition import render_condition
    from stngan.faces.crop import CropTransform
    from stngan.faces.masks import mask_geometry, rasterize
    from stngan.inference.crops import CropInput, to_unit_range

    ct = CropTransform.from_box(face.box)
    items = []
    for i in range(count):
        frame = np.roll(image, 2 * i, axis=1)
        lm = ct.to_crop(face.landmarks.astype(np.float64) + [2 * i, 0])
        mask = torch.from_numpy(rasterize(mask_geometry(lm), 128, 128)).float()[None]
        x_hat = to_unit_range(ct.crop(frame)) * (1 - mask)
        items.append(CropInput(track, ct, x_hat, mask, torch.from_numpy(render_condition(lm, size=128)),
                               np.zeros(image.shape[:2], np.uint8), lm))
    return items


def test_the_donor_fill_streams_an_exemplar_stn_per_track(exemplar_stn, astronaut_face, face_images, monkeypatch):
    from stngan.inference.donor_fill import DonorInpainter
    from stngan.inference.fills import open_inpainter

    inp = open_inpainter(str(exemplar_stn), runtime="torch", blend="none", donor=3)
    assert isinstance(inp, DonorInpainter) and inp.refiner.kind == "stn"
    T = inp.refiner.config.model.T
    assert inp.history == T - 1
    seen = []
    run = inp.refiner.inpaint_tensors
    monkeypatch.setattr(inp.refiner, "inpaint_tensors", lambda *a: seen.append(a[:3]) or run(*a))
    items = _items(astronaut_face, face_images["astronaut"], track=7, count=T + 2)
    streamed = torch.cat([inp.inpaint([item]) for item in items])  # frame by frame, as a video arrives
    assert len(seen) == len(items) and inp.refiner.streams.keys() == {7}

    x_hat, mask, cond = (torch.cat(parts) for parts in zip(*seen))
    assert cond.shape[1] == 5 + EXEMPLAR_CHANNELS
    g = inp.refiner.g
    with torch.no_grad():  # the whole window of each frame, its start padded as streaming pads it
        raw = g(*(pad_window_start(v, T) for v in (x_hat, mask, cond)))[:, -1]
    assert torch.allclose(streamed, background_copy(x_hat, mask, raw), atol=1e-5)
    with torch.no_grad():  # the 3D blocks matter: SI alone on the frame paints something else
        alone = g.spatial(x_hat[-1:], mask[-1:], cond[-1:])
    assert not torch.allclose(raw[-1:], alone, atol=1e-3)

    inp.end_track(7)
    assert 7 not in inp.refiner.streams
    inp.inpaint(items[:1])
    inp.inpaint(_items(astronaut_face, face_images["astronaut"], track=8, count=1))
    assert inp.refiner.streams.keys() == {7, 8}
    inp.reset()
    assert not inp.refiner.streams and not inp.choices


def test_an_exemplar_stn_trains_on_donor_windows(stores, tmp_path):
    from stngan.training.trainer import start_run

    cfg = config.load(TINY_STN, [f"data.source={stores['videos']}", f"out_dir={tmp_path}", "data.workers=0",
                                 "data.split=test", "model.exemplar=true", "loss.lambda_exemplar=10",
                                 "loss.lambda_colour=10", "train.iters=2", "train.decay_start=1", "train.n_critic=1"])
    trainer = start_run(cfg)
    before = {k: v.clone() for k, v in trainer.method.g.state_dict().items()}
    logs = trainer.fit(progress=False)
    assert np.isfinite(logs["g/exemplar_detail"]) and logs["g/exemplar_detail"] > 0  # the donor of every frame
    after = trainer.method.g.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
