"""`stngan evaluate` end to end on tiny real-face stores: masks, baselines, checkpoints, cache, external outputs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from data_fixtures import image_store, video_store
from helpers import tiny_checkpoint
from stngan.evaluation import runner
from stngan.evaluation.batch import to_uint8_images
from stngan.evaluation.cli import evaluate
from stngan.evaluation.external import ExternalOutputs, export_inputs
from stngan.evaluation.methods import CheckpointMethod, Method, OpenCVInpaint, parse_method
from stngan.evaluation.models import MetricModels, MetricOptions
from stngan.evaluation.suites import evaluate as evaluate_sets
from stngan.evaluation.testset import EvalSet
from stngan.faces import save_png_atomic
from stngan.inference.inpainter import Inpainter


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("eval")
    return {"images": image_store(root), "videos": video_store(root), "root": root}


@pytest.fixture(scope="module")
def models() -> MetricModels:
    return MetricModels(MetricOptions(fid="off", lpips="off", flicker=True, samples=2))


@pytest.fixture(scope="module")
def light_models() -> MetricModels:
    """Image metrics only (no dlib embeddings / landmarks): for tests of the plumbing."""
    return MetricModels(MetricOptions(fid="off", lpips="off", landmarks=False, embeddings=False, samples=2))


def test_masks_are_fixed_per_face(stores):
    a = EvalSet(stores["images"], seed=3)
    b = EvalSet(stores["images"], seed=3, limit=2)
    c = EvalSet(stores["images"], seed=4)
    m_all = a.batch(range(len(a))).inputs.mask
    assert torch.equal(m_all[:2], b.batch([0, 1]).inputs.mask)
    assert torch.equal(m_all[1:2], a.batch([1]).inputs.mask)  # independent of the batch
    assert not torch.equal(m_all, c.batch(range(len(c))).inputs.mask)
    assert a.keys == ["loose", "person_a/1", "person_a/2", "person_b/1", "person_b/2"]
    assert a.identity.tolist() == [-1, 0, 0, 1, 1]


@pytest.mark.parametrize("algorithm", ["telea", "ns"])
def test_opencv_baseline_leaves_outside_mask_untouched(stores, algorithm):
    s = EvalSet(stores["images"])
    batch = s.batch(range(len(s)))
    y = to_uint8_images(OpenCVInpaint(algorithm)(batch.inputs))
    x = to_uint8_images(batch.x)
    inside = batch.inputs.mask[:, 0].numpy() > 0.5
    assert np.array_equal(y[~inside], x[~inside])
    assert np.abs(y[inside].astype(int) - x[inside]).mean() < 40  # filled with something face-coloured
    assert (y[inside] != 0).any()


def test_checkpoint_methods_keep_background(stores, tmp_path):
    s = EvalSet(stores["images"])
    batch = s.batch(range(3))
    outside = batch.inputs.mask[:, 0].numpy() < 0.5
    x = to_uint8_images(batch.x)
    for overrides in [(), ("model.kind=partialconv",)]:
        m = CheckpointMethod(tiny_checkpoint(tmp_path, *overrides))
        y = to_uint8_images(m(batch.inputs))
        assert np.array_equal(y[outside], x[outside]), m.label
    assert parse_method(str(tiny_checkpoint(tmp_path, "model.bgcp=false"))).label == "SI-lm w/o BGCP"
    with pytest.raises(ValueError, match="not telea, ns"):
        parse_method("nonsense")


def test_checkpoints_are_scored_through_the_users_inpainter_without_blending_unless_asked(stores, tmp_path):
    ckpt = tiny_checkpoint(tmp_path)
    inputs = EvalSet(stores["images"]).batch(range(3)).inputs
    plain, blended = CheckpointMethod(ckpt), CheckpointMethod(ckpt, blend="poisson")
    users = Inpainter(ckpt, blend="none").inpaint_tensors(inputs.x_hat, inputs.mask, inputs.cond, [0, 1, 2])
    assert torch.equal(plain(inputs), users)
    assert plain.label == "SI-lm" and blended.label == "SI-lm + poisson blend"
    assert blended.fingerprint() != plain.fingerprint()  # cached results never mix the two
    assert not torch.equal(blended(inputs), plain(inputs))


class _Counting(Method):
    """Telea that counts its calls and can fail after a number of them (an interrupted run)."""

    label = "counting"

    def __init__(self, fail_after: int | None = None) -> None:
        self.inner, self.calls, self.fail_after = OpenCVInpaint("telea"), 0, fail_after

    def fingerprint(self) -> str:
        return "counting"

    def __call__(self, inp):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt
        self.calls += 1
        return self.inner(inp)


def test_runner_resumes_and_reuses_chunks(stores, light_models, tmp_path, monkeypatch):
    models = light_models
    monkeypatch.setattr(runner, "CHUNK", 2)
    s = EvalSet(stores["images"], limit=3)
    with pytest.raises(KeyboardInterrupt):
        runner.run_method(s, _Counting(fail_after=2), models, tmp_path, batch_size=1, progress=False)
    resumed = _Counting()
    rec = runner.run_method(s, resumed, models, tmp_path, batch_size=1, progress=False)
    assert resumed.calls == len(s) - 2  # the first chunk (2 faces) came from the cache
    fresh = runner.run_method(s, _Counting(), models, tmp_path / "fresh", batch_size=3, progress=False)
    assert "dlib" not in rec and np.isnan(rec["nme"]).all()
    assert (rec["de"] > 0).all() and (rec["de_means"] <= rec["de"] + 1e-9).all()  # colour error inside the mask
    reference = runner.run_method(s, None, models, tmp_path / "reference", progress=False)
    assert (reference["de"] == 0).all() and (reference["de_means"] == 0).all()
    for k in ("psnr", "ms_ssim", "tv", "sample"):
        np.testing.assert_allclose(rec[k], fresh[k], rtol=1e-5)
    again = _Counting()
    runner.run_method(s, again, models, tmp_path, progress=False)
    assert again.calls == 0


def test_external_outputs_score_like_the_method_that_made_them(stores, light_models, tmp_path):
    models = light_models
    s = EvalSet(stores["images"], limit=3)
    telea = OpenCVInpaint("telea")
    assert export_inputs([s.batch(range(len(s))).inputs], tmp_path / "inputs") == len(s)
    assert (tmp_path / "inputs" / "person_a" / "1.mask.png").is_file()
    outputs = tmp_path / "outputs"
    batch = s.batch(range(len(s)))
    for key, y in zip(s.keys, to_uint8_images(telea(batch.inputs))):
        (outputs / key).parent.mkdir(parents=True, exist_ok=True)
        save_png_atomic(outputs / f"{key}.png", y)
    res = evaluate_sets([s], [telea, ExternalOutputs(outputs, "elsewhere")], models, tmp_path / "cache", progress=False)[0]
    for k in ("psnr", "psnr_mask", "ms_ssim", "tv"):
        assert res.summary["elsewhere"][k] == pytest.approx(res.summary["OpenCV Telea"][k])
    (outputs / "person_a" / "1.png").unlink()
    with pytest.raises(ValueError, match="no external output for test item 'person_a/1'"):
        ExternalOutputs(outputs)(batch.inputs)


@pytest.mark.slow
def test_stn_streams_video_frames_and_flicker_is_measured(stores, models, tmp_path):
    s = EvalSet(stores["videos"])
    assert s.frame.tolist() == sorted(s.frame.tolist()) and len(set(s.video.tolist())) == 1
    stn = CheckpointMethod(tiny_checkpoint(tmp_path, "model.kind=stn"))
    assert stn.label == "STN-lm" and stn.history == 2
    res = evaluate_sets([s], [stn, OpenCVInpaint("telea")], models, tmp_path / "cache", batch_size=4, progress=False)[0]
    for rec in (res.reference, *res.outputs.values()):
        assert np.isnan(rec["flicker"][0]) and np.isfinite(rec["flicker"][1:]).all()


@pytest.mark.slow
def test_cli_writes_tables_and_report(stores, tmp_path):
    ckpt = tiny_checkpoint(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(evaluate, ["--data", f"faces={stores['images']}", "--data", f"clip={stores['videos']}",
                                           "--method", "telea", "--method", "ns", "--method", str(ckpt),
                                           "--suite", "all", "--out", str(out), "--samples", "3", "--fid", "off",
                                           "--no-progress"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for stem in ("table1", "table1_paper", "table2a", "table2", "id_dlib", "control"):
        assert (out / f"{stem}.md").is_file() and (out / f"{stem}.csv").is_file()
    csv_rows = (out / "table1.csv").read_text().splitlines()
    assert csv_rows[0].startswith("Dataset,Method,n,PSNR,PSNR mask,MS-SSIM,TV,FID")
    assert {r.split(",")[1] for r in csv_rows[1:]} == {"Original (reference)", "OpenCV Telea", "OpenCV Navier-Stokes", "SI-lm"}
    assert "| faces | SI-lm | 5 |" in result.output
    assert (out / "report.html").is_file()


def test_cli_bad_input_is_one_line(stores, tmp_path):
    result = CliRunner().invoke(evaluate, ["--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and "does not exist" in str(result.exception)
    result = CliRunner().invoke(evaluate, ["--data", str(stores["images"]), "--fid", "on", "--out", str(tmp_path / "o"),
                                           "--method", "telea"], env={"STNGAN_WEIGHTS": str(tmp_path), "TORCH_HOME": str(tmp_path)})
    assert "pt_inception-2015-12-05-6726825d.pth" in str(result.exception)


def test_limited_runs_share_chunks_with_the_full_run(stores, light_models, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "CHUNK", 2)
    first = _Counting()
    runner.run_method(EvalSet(stores["images"], limit=3), first, light_models, tmp_path, progress=False)
    full = _Counting()
    rec = runner.run_method(EvalSet(stores["images"]), full, light_models, tmp_path, progress=False)
    assert first.calls == 2 and full.calls == 2  # chunk 0 reused; chunk 1 (now 2 faces) and chunk 2 computed
    assert len(rec["psnr"]) == 5
