"""Distillation (train.teacher): the loss, the config rules and a student that learns its teacher's output."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from helpers import tiny_checkpoint
from stngan import checkpoint as ckpt_mod
from stngan import config
from stngan.losses import distill_loss
from stngan.training.methods import DistilledInpainting
from stngan.training.trainer import start_run
from test_motion_windows import still_store  # noqa: F401  (module fixtures)
from test_training import face_store, fit_logs, tiny_cfg  # noqa: F401

CONFIGS = Path(__file__).parent.parent / "configs"


def _mask() -> torch.Tensor:
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1
    return mask


def test_distill_loss_is_zero_for_the_teacher_and_blind_outside_the_mask():
    teacher = torch.rand(1, 3, 16, 16)
    mask = _mask()
    student = teacher.clone()
    student[..., :4, :] = 0  # only unmasked rows differ
    loss, logs = distill_loss(teacher, student, mask)
    assert loss.item() == 0 and logs["distill/grad"] == 0


def test_distill_loss_pixel_term_sees_a_shift_and_gradient_term_sees_lost_texture():
    mask = _mask()
    teacher = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    _, shifted = distill_loss(teacher, teacher + 0.25, mask)
    assert shifted["distill/pixel"] == pytest.approx(0.25, abs=1e-6)
    assert shifted["distill/grad"] == pytest.approx(0.0, abs=1e-6)  # a constant shift keeps every difference
    flat = torch.full_like(teacher, 0.5)  # the texture gone, the mean kept
    _, blurred = distill_loss(teacher, flat, mask)
    expected = ((teacher[..., 4:12, 5:12] - teacher[..., 4:12, 4:11]).abs().mean()
                + (teacher[..., 5:12, 4:12] - teacher[..., 4:11, 4:12]).abs().mean()) / 2
    assert blurred["distill/grad"] == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize("extra, key", [
    (("train.teacher=x",), "loss.lambda_distill"),
    (("loss.lambda_distill=1",), "loss.lambda_distill"),
    (("train.teacher=x", "loss.lambda_distill=1", "train.n_critic=2"), "train.n_critic"),
    (("train.teacher=x", "loss.lambda_distill=1", "train.n_critic=1", "model.kind=partialconv"), "model.kind"),
])
def test_distillation_config_rules(extra, key):
    with pytest.raises(config.ConfigError, match=key):
        config.load(None, ["model.g_width=8", *extra])


def _student_cfg(store, tmp_path, teacher, *extra):
    return tiny_cfg(store, tmp_path, f"train.teacher={teacher}", "loss.lambda_distill=1", "loss.lambda_l1=0",
                    "train.n_critic=1", *extra)


def test_a_student_equal_to_its_teacher_has_zero_loss_and_no_critic(face_store, tmp_path):  # noqa: F811
    teacher = ckpt_mod.export_model(tiny_checkpoint(tmp_path, "model.g_width=6"), tmp_path / "teacher")
    trainer = start_run(_student_cfg(face_store, tmp_path, teacher, "model.g_width=6", f"train.init_from={teacher}"))
    assert isinstance(trainer.method, DistilledInpainting) and trainer.method.d is None
    logs = fit_logs(trainer, stop_at=1)
    assert logs[0]["distill/pixel"] == 0 and logs[0]["distill/grad"] == 0  # the target is the teacher's output


def test_a_narrower_student_learns_its_teacher_and_the_teacher_stays_fixed(face_store, tmp_path):  # noqa: F811
    teacher = tiny_checkpoint(tmp_path)  # width 8
    cfg = _student_cfg(face_store, tmp_path, teacher, "model.g_width=6", "train.iters=150", "train.decay_start=150",
                       "train.lr_g=3e-3", "train.ckpt_every=1000", "data.hflip=0", "data.mask_jitter=0")
    trainer = start_run(cfg)
    before = [p.detach().clone() for p in trainer.method.teacher.parameters()]
    pixel = [h["distill/pixel"] for h in fit_logs(trainer)]
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.method.teacher.parameters()))
    first, last = sum(pixel[:10]) / 10, sum(pixel[-10:]) / 10
    assert last < 0.8 * first, (first, last)  # measured 0.31 → 0.21 (a random teacher is a hard, noisy target)


def test_a_teacher_of_another_kind_is_refused(face_store, tmp_path):  # noqa: F811
    teacher = tiny_checkpoint(tmp_path, "model.landmarks=false")
    with pytest.raises(config.ConfigError, match="landmarks"):
        start_run(_student_cfg(face_store, tmp_path, teacher))


def test_an_stn_student_starts_as_its_si_teacher_and_trains_only_its_temporal_blocks(still_store, tmp_path):  # noqa: F811
    teacher = tiny_checkpoint(tmp_path)
    cfg = config.load(CONFIGS / "tiny_stn_lm.yaml", [
        f"data.source={still_store}", f"out_dir={tmp_path}", "data.workers=0", "data.motion.enabled=true",
        f"train.teacher={teacher}", f"train.init_from={teacher}", "train.train_only_temporal=true",
        "train.n_critic=1", "loss.lambda_distill=1", "loss.lambda_warp=1", "train.iters=4", "train.decay_start=2",
        "train.ckpt_every=100", "train.lr_g=1e-3"])
    trainer = start_run(cfg)
    assert isinstance(trainer.method, DistilledInpainting) and trainer.method.d is None
    spatial = {k: v.clone() for k, v in trainer.method.g.spatial.state_dict().items()}
    logs = fit_logs(trainer)
    assert logs[0]["distill/pixel"] < 1e-6 and logs[0]["g/warp"] > 0  # zero-started blocks: frame T is the SI output
    assert logs[-1]["distill/pixel"] > 0  # the blocks moved frame T
    assert all(torch.equal(v, trainer.method.g.spatial.state_dict()[k]) for k, v in spatial.items())
    assert all(b.expand.weight.abs().sum() > 0 for b in trainer.method.g.blocks)
