"""A wall-clock budget for training (Trainer.fit(deadline=...), `stngan train --minutes`): the first step past it
is the last one, with its sample grid and checkpoint; no budget changes nothing; a resumed run gets a new one."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from data_fixtures import image_store
from stngan import checkpoint as ckpt_mod
from stngan import config
from stngan.cli import cli
from stngan.training.trainer import start_run

TINY = Path(__file__).parent.parent / "configs" / "tiny_si_lm.yaml"
SETTINGS = ["data.split=test", "data.workers=0", "train.batch_size=2", "train.sample_every=1000",
            "train.ckpt_every=1000", "train.log_every=1", "loss.lambda_pct=0", "loss.lambda_l1=10"]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return image_store(tmp_path_factory.mktemp("budget"))


def tiny_cfg(store: Path, out: Path, *extra: str) -> config.ExperimentConfig:
    return config.load(TINY, [f"data.source={store}", f"out_dir={out}", *SETTINGS, *extra])


def test_a_deadline_ends_training_with_the_last_steps_checkpoint_and_grid(store, tmp_path):
    trainer = start_run(tiny_cfg(store, tmp_path, "train.iters=100000", "train.decay_start=100000"))
    began = time.monotonic()
    trainer.fit(progress=False, deadline=began + 3.0)
    assert 0 < trainer.step < 100000 and time.monotonic() - began < 60
    last = f"step-{trainer.step:07d}"
    assert [p.name for p in ckpt_mod.list_checkpoints(trainer.run_dir)] == [last]
    assert (trainer.run_dir / "samples" / f"{last}.png").is_file()
    assert ckpt_mod.read_meta(ckpt_mod.resolve(trainer.run_dir))[1] == trainer.step


@pytest.mark.slow
def test_without_a_budget_or_within_it_training_is_unchanged(store, tmp_path):
    logs = {}
    for name, deadline in (("none", None), ("far", time.monotonic() + 3600)):
        trainer = start_run(tiny_cfg(store, tmp_path / name, "train.iters=4", "train.decay_start=2"))
        logs[name] = []
        trainer.fit(progress=False, deadline=deadline, on_step=lambda step, entry, out=logs[name]: out.append(entry))
        assert trainer.step == 4
    assert logs["none"] == logs["far"]


@pytest.mark.slow
def test_cli_minutes_stops_early_and_a_resume_gets_a_new_budget(store, tmp_path):
    sets = [a for s in [*SETTINGS, "train.iters=100000", "train.decay_start=100000"] for a in ("--set", s)]
    first = CliRunner().invoke(cli, ["train", str(TINY), *sets, "--data", str(store), "--out", str(tmp_path),
                                     "--minutes", "0.05"])
    assert first.exit_code == 0, first.output
    assert "the 0.05-minute budget ran out" in first.output
    (run,) = [p for p in tmp_path.iterdir() if (p / "checkpoints").is_dir()]
    stopped = ckpt_mod.read_meta(ckpt_mod.resolve(run))[1]
    assert stopped > 0
    again = CliRunner().invoke(cli, ["train", "--resume", str(run), "--minutes", "0.05"])
    assert again.exit_code == 0, again.output
    assert ckpt_mod.read_meta(ckpt_mod.resolve(run))[1] > stopped
