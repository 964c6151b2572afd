"""The HTML report of a tiny run: every section, images embedded, nothing external; renders in Chromium."""
from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from stngan.evaluation.methods import CheckpointMethod, OpenCVInpaint
from stngan.evaluation.models import MetricModels, MetricOptions
from stngan.evaluation.outputs import write_outputs
from stngan.evaluation.suites import SUITES, control_study, evaluate
from stngan.evaluation.testset import EvalSet
from stngan.report.html import figure_html
from data_fixtures import image_store, video_store
from helpers import tiny_checkpoint

SECTIONS = ("summary", "table1", "table2", "flicker", "grids", "control", "identity", "definitions")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    sets = [EvalSet(image_store(root), "faces", limit=4), EvalSet(video_store(root, frames=3), "clip")]
    models = MetricModels(MetricOptions(fid="off", lpips="off", flicker=True, samples=2))
    methods = [OpenCVInpaint("telea"), CheckpointMethod(tiny_checkpoint(root))]
    results = evaluate(sets, methods, models, root / "cache", progress=False)
    studies = [control_study(results[0], methods[1], models, n=2, k=1)]
    write_outputs(root / "out", {s: results for s in SUITES}, studies, models.notes, ["tiny run"])
    return root / "out" / "report.html"


@pytest.mark.slow
def test_report_has_every_section_and_is_self_contained(report):
    text = report.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'<section id="{section}">' in text, section
    images = re.findall(r'<img src="([^"]*)"', text)
    assert len(images) >= 5 and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r"https?://|src=\"//|<script|<link|@import|url\(", text)
    for table in ("Table 1: spatial inpainting", "Paper, Table 1", "Table 2a", "Identity distance test",
                  "Landmark control"):
        assert table in text
    assert "OpenCV Telea" in text and "SI-lm" in text


def test_figures_must_be_embedded():
    with pytest.raises(ValueError, match="data URIs"):
        figure_html("https://example.invalid/x.png", "remote")


@pytest.mark.slow
def test_report_renders_in_headless_chromium(report, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium not installed (Debian: apt-get install -y --no-install-recommends chromium)")
    shot = tmp_path / "report.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={shot}", "--window-size=1280,2400", report.as_uri()],
                   check=True, capture_output=True, timeout=120)
    img = np.asarray(Image.open(shot).convert("L"))
    assert img.shape == (2400, 1280)
    assert img.std() > 10  # text, tables and figures drawn, not a blank page
