"""The training loop: schedule, checkpoints, exact resume, data-parallel equivalence, learning on real faces."""
from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from helpers import tiny_checkpoint
from stngan import checkpoint as ckpt_mod
from stngan import config
from stngan.data.store import FaceStore
from stngan.models.build import load_generator
from stngan.training.data import StepBatchSampler
from stngan.training.distributed import DistInfo
from stngan.training.methods import build_method
from stngan.training.schedule import lr_factor
from stngan.training.trainer import Trainer, start_run

DATA = Path(__file__).parent / "data"


def fit_logs(trainer: Trainer, **kwargs) -> list[dict[str, float]]:
    """Run `trainer.fit` and collect every step's logs (fit itself keeps only the last)."""
    logs: list[dict[str, float]] = []
    trainer.fit(progress=False, on_step=lambda step, entry: logs.append(entry), **kwargs)
    return logs


def tiny_cfg(store: Path, out: Path, *extra: str) -> config.ExperimentConfig:
    """Tiny SI-lm on CPU; masked L1 instead of the (random) VGG perceptual term, which costs seconds per step."""
    return config.load(Path(__file__).parent.parent / "configs" / "tiny_si_lm.yaml",
                       [f"data.source={store}", f"out_dir={out}", "data.workers=0", "train.batch_size=2",
                        "train.log_every=1", "train.sample_every=1000", "train.ckpt_every=3", "train.iters=6",
                        "train.decay_start=3", "train.keep_last=2", "loss.lambda_pct=0", "loss.lambda_l1=10", *extra])


ANONYMIZE_ONLY = ("feat_bw_profile.jpg", "feat_hand_occluded.jpg")


@pytest.fixture(scope="module")
def face_store(tmp_path_factory) -> Path:
    """A store prepared from the frontal real face photos shipped in tests/data (the profile and the
    hand-covered face of the anonymize tests left out: this overfitting task was sized without them)."""
    import shutil

    from stngan.data.prepare.folder import prepare_folder

    photos = tmp_path_factory.mktemp("photos")
    for path in DATA.iterdir():
        if path.suffix in (".png", ".jpg") and path.name not in ANONYMIZE_ONLY:
            shutil.copy(path, photos / path.name)
    store = tmp_path_factory.mktemp("store") / "faces"
    prepare_folder(photos, store, progress=False)
    return store


def test_lr_is_constant_then_linear_to_exactly_zero():
    assert lr_factor(0, 100, 50) == 1.0 and lr_factor(49, 100, 50) == 1.0
    assert lr_factor(75, 100, 50) == 0.5 and lr_factor(100, 100, 50) == 0.0
    assert lr_factor(10, 100, 100) == 1.0


def test_step_batches_are_a_function_of_the_step_and_ranks_split_them():
    whole = StepBatchSampler(10, 4, seed=3, start_step=0, dist_info=DistInfo())
    batches = [whole.batch_for_step(s) for s in range(6)]
    late = StepBatchSampler(10, 4, seed=3, start_step=4, dist_info=DistInfo())
    assert next(iter(late)) == batches[4]
    ranks = [StepBatchSampler(10, 4, 3, 0, DistInfo(r, 2)).batch_for_step(5) for r in range(2)]
    assert ranks[0] + ranks[1] == batches[5]
    epoch0 = [k for b in batches[:2] for k in b] + batches[2][:2]
    assert sorted(epoch0) == list(range(10))  # each epoch visits every item once


def test_run_writes_checkpoints_samples_and_config(face_store, tmp_path):
    trainer = start_run(tiny_cfg(face_store, tmp_path, "loss.lambda_pct=10"))
    history = fit_logs(trainer)
    assert any("g/pct" in h for h in history)
    run = trainer.run_dir
    assert (run / "config.yaml").is_file() and any((run / "tb").iterdir())
    assert [p.name for p in ckpt_mod.list_checkpoints(run)] == ["step-0000003", "step-0000006"]
    assert (run / "checkpoints" / "best" / "model.safetensors").is_file()
    assert (run / "samples" / "step-0000006.png").is_file()
    g, cfg = load_generator(run)
    assert cfg == trainer.cfg and not g.training
    for a, b in zip(g.state_dict().values(), trainer.g_ema.state_dict().values()):
        assert torch.equal(a, b)


def test_resume_continues_exactly(face_store, tmp_path):
    straight = start_run(tiny_cfg(face_store, tmp_path / "a"))
    full = fit_logs(straight)
    first = start_run(tiny_cfg(face_store, tmp_path / "b"))
    first.fit(stop_at=3, progress=False)
    resumed = start_run(None, resume=first.run_dir)
    assert resumed.step == 3
    rest = fit_logs(resumed)
    assert rest == full[3:]
    for a, b in zip(straight.method.d.state_dict().values(), resumed.method.d.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(straight.g_ema.state_dict().values(), resumed.g_ema.state_dict().values()):
        assert torch.equal(a, b)


def test_checkpoint_errors_are_clear(tmp_path):
    with pytest.raises(ckpt_mod.CheckpointError, match="no stngan checkpoint"):
        ckpt_mod.resolve(tmp_path)
    (tmp_path / "config.json").write_text('{"format": "other"}')
    with pytest.raises(ckpt_mod.CheckpointError, match="not an stngan checkpoint"):
        ckpt_mod.read_meta(tmp_path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _global_batch(n: int = 4) -> dict:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 3, 128, 128, generator=g) * 2 - 1
    mask = torch.zeros(n, 1, 128, 128)
    mask[:, :, 40:90, 30:100] = 1
    return {"x": x, "mask": mask, "x_hat": x * (1 - mask), "cond": torch.rand(n, 5, 128, 128, generator=g)}


def _ddp_worker(rank: int, port: int, cfg_json: str, out: str) -> None:
    os.environ.update(WORLD_SIZE="2", RANK=str(rank), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    cfg = config.from_json(cfg_json)
    torch.manual_seed(cfg.train.seed)
    trainer = Trainer(cfg, Path(out), build_method(cfg))  # parts handed in; no data: stepped by hand
    batch = {k: v[rank * 2:(rank + 1) * 2] for k, v in _global_batch().items()}
    trainer.train_step(batch)
    trainer.train_step(batch)  # n_critic = 2: the second step also updates G
    if rank == 0:
        torch.save({"g": trainer.method.g.state_dict(), "d": trainer.method.d.state_dict()}, Path(out) / "ddp.pt")
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_two_process_step_equals_single_process_step(tmp_path):
    cfg = tiny_cfg(tmp_path, tmp_path, "train.batch_size=4")
    torch.manual_seed(cfg.train.seed)
    single = Trainer(cfg, tmp_path, build_method(cfg))
    batch = _global_batch()
    single.train_step(batch)
    single.train_step(batch)
    mp.spawn(_ddp_worker, args=(_free_port(), cfg.to_json(), str(tmp_path)), nprocs=2, join=True)
    ddp = torch.load(tmp_path / "ddp.pt", weights_only=True)
    for name, module in (("g", single.method.g), ("d", single.method.d)):
        for key, value in module.state_dict().items():
            torch.testing.assert_close(ddp[name][key], value, rtol=1e-4, atol=1e-5, msg=f"{name}.{key}")


@pytest.mark.slow
def test_overfitting_four_real_faces_lowers_the_reconstruction_loss(face_store, tmp_path):
    # masked L1 stands in for the perceptual term here: VGG16 at 128² costs seconds per step on 2 cores
    n_faces = len(FaceStore(face_store))  # every face in every batch, fixed masks: the same task each step
    # L1 weighted 100 so that reconstruction, not the critic's moving target, drives G here (at λ 10 and
    # lr 2e-3 the masked L1 only wandered between 0.33 and 0.44 over 200 iterations)
    cfg = tiny_cfg(face_store, tmp_path, "train.iters=200", "train.decay_start=200", f"train.batch_size={n_faces}",
                   "train.ckpt_every=1000", "loss.lambda_l1=100", "train.lr_g=1e-3", "train.lr_d=5e-4",
                   "data.hflip=0", "data.mask_jitter=0")
    trainer = start_run(cfg)
    history = fit_logs(trainer)
    l1 = [h["g/l1_masked"] for h in history if "g/l1_masked" in h]
    first, last = sum(l1[:10]) / 10, sum(l1[-10:]) / 10
    assert last < 0.5 * first, (first, last)  # measured: 0.361 → 0.086


def test_export_writes_an_fp16_model_that_loads(tmp_path):
    ckpt = tiny_checkpoint(tmp_path)
    out = ckpt_mod.export_model(ckpt, tmp_path / "exported")
    g16, cfg = load_generator(out)
    g32, _ = load_generator(ckpt)
    assert (out / "model.safetensors").stat().st_size < 0.6 * (ckpt / "model.safetensors").stat().st_size
    for a, b in zip(g16.state_dict().values(), g32.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-3)
    for path in (out / "model.safetensors", ckpt / "model.safetensors"):  # safetensors alone writes 0600
        assert path.stat().st_mode & 0o777 == 0o644


def test_resume_may_change_only_the_data(face_store, tmp_path):
    first = start_run(tiny_cfg(face_store, tmp_path))
    first.fit(stop_at=3, progress=False)
    with pytest.raises(config.ConfigError, match="only data"):
        start_run(None, resume=first.run_dir, data_overrides=["train.lr_g=1"])
    resumed = start_run(None, resume=first.run_dir, data_overrides=["data.hflip=0"])
    assert resumed.cfg.data.hflip == 0 and resumed.step == 3


def test_partialconv_baseline_trains_through_the_same_loop(face_store, tmp_path):
    cfg = tiny_cfg(face_store, tmp_path, "model.kind=partialconv", "model.landmarks=false", "train.n_critic=1",
                   "train.iters=2", "train.decay_start=2", "train.ckpt_every=2")
    trainer = start_run(cfg)
    before = [p.clone() for p in trainer.method.g.parameters()]
    history = fit_logs(trainer)
    assert all("pconv/loss" in h for h in history) and trainer.method.d is None
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.method.g.parameters()))
    g, cfg = load_generator(trainer.run_dir)
    assert cfg.model.kind == "partialconv"


@pytest.mark.slow  # this CPU has no native bf16: emulated, ~30 s even at tiny widths
def test_bf16_autocast_step_runs_and_stays_finite(face_store, tmp_path):
    trainer = start_run(tiny_cfg(face_store, tmp_path, "train.amp=bf16", "train.iters=2", "train.decay_start=2",
                                 "train.ckpt_every=2"))
    history = fit_logs(trainer)
    assert all(torch.isfinite(torch.tensor(v)) for h in history for v in h.values())


def test_d_warmup_trains_the_critics_alone_first(face_store, tmp_path):
    trainer = start_run(tiny_cfg(face_store, tmp_path, "train.d_warmup=4", "train.n_critic=1"))
    g0 = [p.detach().clone() for p in trainer.method.g.parameters()]
    ema0 = [p.detach().clone() for p in trainer.g_ema.parameters()]
    d0 = [p.detach().clone() for p in trainer.method.d.parameters()]
    logs = fit_logs(trainer, stop_at=4)
    assert all(torch.equal(a, b) for a, b in zip(g0, trainer.method.g.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(ema0, trainer.g_ema.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(d0, trainer.method.d.parameters()))
    assert not any(k.startswith("g/") for entry in logs for k in entry)  # no generator step logged
    fit_logs(trainer, stop_at=5)  # iteration 5 (n_critic 1): the first generator step
    assert not all(torch.equal(a, b) for a, b in zip(g0, trainer.method.g.parameters()))


def test_init_from_an_exported_model_warm_starts_g(face_store, tmp_path):
    exported = ckpt_mod.export_model(tiny_checkpoint(tmp_path), tmp_path / "exported")
    trainer = start_run(tiny_cfg(face_store, tmp_path, f"train.init_from={exported}"))
    source, _ = load_generator(exported)
    for a, b in zip(source.state_dict().values(), trainer.method.g.state_dict().values()):
        assert torch.equal(a, b)
    assert trainer.step == 0
