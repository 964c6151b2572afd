"""STN fine-tuning through the shared trainer: SI init, zero-started temporal blocks that learn, streaming."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from stngan import checkpoint as ckpt_mod
from stngan import config
from stngan.models.build import build_discriminator, build_generator, load_generator
from stngan.training.run_folder import save_checkpoint
from stngan.training.trainer import start_run
from helpers import astronaut_frames
from clips import make_clip

CONFIGS = Path(__file__).parent.parent / "configs"


@pytest.fixture(scope="module")
def video_store(tmp_path_factory) -> Path:
    from stngan.data.prepare.videos import prepare_videos

    root = tmp_path_factory.mktemp("videos")
    (root / "clips").mkdir()
    make_clip(root / "clips" / "a.mkv", astronaut_frames(6), codec="ffv1")
    prepare_videos(root / "clips", root / "store", progress=False)
    return root / "store"


@pytest.fixture(scope="module")
def si_checkpoint(tmp_path_factory) -> Path:
    """A tiny SI-lm checkpoint written through the real checkpoint code (random weights)."""
    cfg = config.load(CONFIGS / "tiny_si_lm.yaml")
    torch.manual_seed(0)
    g, d = build_generator(cfg.model), build_discriminator(cfg.model)
    run = tmp_path_factory.mktemp("si")
    return save_checkpoint(run, 10, cfg, g, g, d, {"step": 10})


def stn_cfg(store: Path, out: Path, init: Path, *extra: str) -> config.ExperimentConfig:
    return config.load(CONFIGS / "tiny_stn_lm.yaml", [f"data.source={store}", f"out_dir={out}", "data.workers=0",
                                                      f"train.init_from={init}", *extra])


def test_si_weights_load_into_stn_with_only_the_new_blocks_missing(si_checkpoint):
    cfg = config.load(CONFIGS / "tiny_stn_lm.yaml")
    stn_g = build_generator(cfg.model)
    si = load_generator(si_checkpoint)[0].state_dict()
    missing, unexpected = stn_g.load_state_dict({f"spatial.{k}": v for k, v in si.items()}, strict=False)
    assert not unexpected and missing and all(k.startswith("blocks.") for k in missing)


def test_fine_tuning_starts_as_si_and_moves_R(video_store, si_checkpoint, tmp_path):
    trainer = start_run(stn_cfg(video_store, tmp_path, si_checkpoint))
    si_g, _ = load_generator(si_checkpoint)
    for key, value in si_g.state_dict().items():
        assert torch.equal(trainer.g_ema.spatial.state_dict()[key], value)
    assert all(b.expand.weight.abs().sum() == 0 for b in trainer.method.g.blocks)
    history = []
    trainer.fit(progress=False, on_step=lambda step, logs: history.append(logs))
    assert len(history) == 6 and any("g/pct" in h for h in history)
    assert all(b.expand.weight.abs().sum() > 0 for b in trainer.method.g.blocks)
    assert all(b.expand.weight.abs().sum() > 0 for b in trainer.method.d.blocks)
    g, cfg = load_generator(trainer.run_dir)
    assert cfg.model.kind == "stn" and hasattr(g, "stream_step")


def test_train_only_temporal_freezes_the_spatial_weights(video_store, si_checkpoint, tmp_path):
    trainer = start_run(stn_cfg(video_store, tmp_path, si_checkpoint, "train.train_only_temporal=true",
                                "train.iters=2", "train.decay_start=1"))
    before = {k: v.clone() for k, v in trainer.method.g.spatial.state_dict().items()}
    trainer.fit(progress=False)
    for key, value in trainer.method.g.spatial.state_dict().items():
        assert torch.equal(before[key], value), key
    for module in (trainer.method.g, trainer.method.d):  # frozen weights get no gradient at all (no wasted backward)
        assert all(p.grad is None for p in module.spatial.parameters())
        assert all(p.grad is not None for p in module.temporal_parameters())


def test_stn_init_refuses_a_non_si_checkpoint(video_store, tmp_path):
    cfg = config.load(CONFIGS / "tiny_stn_lm.yaml")
    run = tmp_path / "stn"
    run.mkdir()
    ckpt = save_checkpoint(run, 1, cfg, build_generator(cfg.model), build_generator(cfg.model),
                           build_discriminator(cfg.model), {"step": 1})
    with pytest.raises(ckpt_mod.CheckpointError, match="STN starts from an SI one"):
        start_run(stn_cfg(video_store, tmp_path, ckpt))


def test_fine_tuning_can_start_from_an_exported_si_model(video_store, si_checkpoint, tmp_path):
    exported = ckpt_mod.export_model(si_checkpoint, tmp_path / "si_export")  # fp16 EMA weights, no critic
    assert not (exported / "train.safetensors").exists()
    trainer = start_run(stn_cfg(video_store, tmp_path, exported, "train.iters=1", "train.decay_start=1"))
    si_g, _ = load_generator(exported)
    for key, value in si_g.state_dict().items():
        assert torch.equal(trainer.method.g.spatial.state_dict()[key], value.float())
        assert torch.equal(trainer.g_ema.spatial.state_dict()[key], value.float())
    assert all(b.expand.weight.abs().sum() == 0 for b in trainer.method.g.blocks)
