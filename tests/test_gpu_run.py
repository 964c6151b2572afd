"""`stngan gpu-train --tiny`: the lent-GPU command end to end on the CPU within a 30-second budget: both models
trained and exported into at most 8 files that unpack into loadable models, and summary.json says what ran."""
from __future__ import annotations

import io
import json
import tarfile

import pytest
import torch
from click.testing import CliRunner

from data_fixtures import image_store
from stngan.cli import cli
from stngan.inference.inpainter import Inpainter
from stngan import config
from stngan.models.build import load_generator
from stngan.training import gpu_run

PHASE_FIELDS = {"steps", "seconds", "iterations_per_s", "held_out_l1_masked", "held_out_split", "batch_size", "amp",
                "compile", "config"}


@pytest.mark.slow
def test_tiny_gpu_train_exports_both_models_within_the_budget(tmp_path):
    store = image_store(tmp_path / "data")  # 5 faces, test split
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["gpu-train", "--minutes", "0.5", "--tiny", "--store", str(store),
                                      "--out", str(out), "--set", "si.data.split=test", "--set", "stn.data.split=test"])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert len(files) <= 8 and {"summary.json", "log.txt", "models.tar.gz.000"} <= set(files)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tiny"] and summary["minutes"] == 0.5 and summary["device"].startswith("cpu")
    assert "lambda_pct 0" in summary["recipe"]
    for name, config_file in (("si_lm", "gpu_si_lm.yaml"), ("stn_lm", "gpu_stn_lm.yaml")):
        assert PHASE_FIELDS <= set(summary[name]) and summary[name]["steps"] > 0
        # the budget, not the configured length, ended the phase (a count, not a clock: CI machines are loaded)
        assert summary[name]["steps"] < config.load(gpu_run.CONFIGS / config_file, []).train.iters

    joined = b"".join((out / name).read_bytes() for name in summary["files"])
    with tarfile.open(fileobj=io.BytesIO(joined), mode="r:gz") as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    unpacked = tmp_path / "unpacked"
    _, si_cfg = load_generator(unpacked / "si_lm")
    _, stn_cfg = load_generator(unpacked / "stn_lm")
    assert (si_cfg.model.kind, stn_cfg.model.kind) == ("si", "stn") and si_cfg.model.g_width == 8
    assert stn_cfg.train.init_from == summary["si_lm"]["run"]
    assert Inpainter(unpacked / "stn_lm", runtime="torch") is not None
    assert any((unpacked / "samples").glob("si_lm-step-*.png"))


def test_without_a_store_or_a_gpu_it_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_run, "GENERATOR_MODULES", ("stngan_no_such_module",))
    result = CliRunner().invoke(cli, ["gpu-train", "--minutes", "1", "--tiny", "--out", str(tmp_path / "out")],
                                standalone_mode=False)
    assert "no --store given" in str(result.exception) and "carry data/synth_store" in str(result.exception)
    if not torch.cuda.is_available():
        result = CliRunner().invoke(cli, ["gpu-train", "--minutes", "1", "--out", str(tmp_path / "out")],
                                    standalone_mode=False)
        assert "needs a CUDA device" in str(result.exception)
    bad = CliRunner().invoke(cli, ["gpu-train", "--minutes", "1", "--tiny", "--out", str(tmp_path / "o"),
                                   "--store", str(tmp_path), "--set", "gan.train.iters=3"], standalone_mode=False)
    assert "si.KEY=VALUE" in str(bad.exception)
