"""Table layouts: number formatting, CSV for programs, the paper's numbers beside ours."""
from __future__ import annotations

from types import SimpleNamespace

from stngan.evaluation import paper
from stngan.evaluation.suites import ORIGINAL, SetResults
from stngan.report.tables import fmt, table1, table2a


def _results(kind: str, name: str) -> SetResults:
    row = {"n": 10.0, "psnr": 28.0, "psnr_mask": 20.0, "ms_ssim": 0.98, "tv": 12.0, "lpips": float("nan"),
           "nme": 0.05, "flicker": float("nan"), "dlib_fd": 0.1, "dlib_kid": 1.0, "reid": 0.0, "de": 12.5,
           "de_means": 4.25}
    r = SetResults(SimpleNamespace(kind=kind, name=name), {})  # type: ignore[arg-type]
    r.summary = {ORIGINAL: {**row, "psnr": float("inf")}, "SI-lm": dict(row), "OpenCV Telea": dict(row)}
    r.outputs = {"SI-lm": {}, "OpenCV Telea": {}}
    return r


def test_fmt():
    assert fmt(float("nan")) == "—" and fmt(None) == "—" and fmt(float("inf")) == "∞" and fmt(1.23456, 3) == "1.235"


def test_paper_numbers_sit_beside_matching_rows():
    t = table1([_results("celeba", "mine")])
    rows = {r[1]: r for r in t.rows}
    assert rows["SI-lm"][-4:] == ["28.61", "0.982", "12.75", "36.21"]
    assert rows["OpenCV Telea"][-4:] == ["—"] * 4
    assert rows[ORIGINAL][3] == "∞"
    csv_rows = t.csv().splitlines()
    assert ",inf," in csv_rows[1] and "—" not in t.csv()
    assert "| mine | SI-lm | 10 | 28.00 |" in t.markdown()
    assert rows["SI-lm"][t.header.index("ΔE")] == "12.50" and rows["SI-lm"][t.header.index("ΔE of means")] == "4.25"


def test_dataset_and_method_mapping():
    assert paper.paper_dataset("folder", "my_300-VW_test") == "300-VW"
    assert paper.paper_dataset("faceforensics", "x") == "Face Forensics"
    assert paper.paper_dataset("folder", "nba_headshots") is None
    assert paper.paper_method("my vid2vid run") == "Vid2Vid"
    t = table2a([_results("300vw", "vw")])
    assert t.header == ["Dataset", "SI-lm", "OpenCV Telea"] and t.rows[0][1] == "— (0.100)"
