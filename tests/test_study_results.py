"""`stngan study results`: Wilson intervals, Table 2b from a known vote set, md/csv/json/html outputs."""
from __future__ import annotations

import csv
import io
import json
import random

import pytest
from click.testing import CliRunner
from study_fixtures import METHODS

from stngan.study import compute_results, results_html_section, wilson_interval
from stngan.study.cli import study as study_cli
from stngan.study.manifest import ClipEntry, Manifest, VideoEntry
from stngan.study.store import VoteStore

# The paper's Table 2b shares (1.47 / 1.96 / 12.25 / 84.31 %) are exactly 3, 4, 25, 172 of 204 votes.
PAPER_VOTES = {"SI": 3, "SI-lm": 4, "STN": 25, "STN-lm": 172}
# Wilson 95 % bounds computed independently with 40-digit decimal arithmetic.
PAPER_BOUNDS = {"SI": (0.0050137096, 0.0423370878), "SI-lm": (0.0076508791, 0.0493226376),
                "STN": (0.0844019139, 0.1746487063), "STN-lm": (0.7869486356, 0.8866417096)}
CLIPS = [f"c{i:02d}" for i in range(12)]


@pytest.mark.parametrize("k, n, low, high", [  # Newcombe (1998), Stat. Med. 17:857, Table I, method 3
    (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718),
])
def test_wilson_matches_published_values(k, n, low, high):
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=5e-5) and hi == pytest.approx(high, abs=5e-5)


def test_wilson_edges():
    assert wilson_interval(5, 5)[1] == 1.0 and wilson_interval(0, 5)[0] == 0.0
    with pytest.raises(ValueError):
        wilson_interval(0, 0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


@pytest.fixture(scope="module")
def voted_study(tmp_path_factory):
    """12 clips, 17 complete participants casting the paper's 204 votes, plus one who gave up after 1 vote."""
    root = tmp_path_factory.mktemp("voted")
    clips = [ClipEntry(c, 50, "25", 2.0, 64, 64, {m: VideoEntry(f"{i:02d}{j:014x}", f"videos/{c}/{m}.mp4", "-", 0)
                                                  for j, m in enumerate(METHODS)}) for i, c in enumerate(CLIPS)]
    manifest = Manifest("feedc0de", "Most realistic?", METHODS, clips, clips_per_participant=12).validate()
    manifest.save(root)
    rng = random.Random(3)
    choices = [m for m, k in PAPER_VOTES.items() for _ in range(k)]
    rng.shuffle(choices)
    per_clip = {c: dict.fromkeys(METHODS, 0) for c in CLIPS}
    store = VoteStore(root / "votes.sqlite", manifest.study_id)
    for participant in range(18):
        plan = [(c, rng.sample(METHODS, 4)) for c in rng.sample(CLIPS, 12)]
        session = store.create_session(plan)
        for trial in store.trials(session)[: 12 if participant < 17 else 1]:
            method = choices.pop() if choices else "SI"
            store.record_vote(session, trial.id, trial.method_order.index(method))
            if participant < 17:
                per_clip[trial.clip][method] += 1
    store.close()
    return root, per_clip


def test_table_2b_from_known_votes(voted_study):
    root, per_clip = voted_study
    table = compute_results(root, complete_only=True)
    assert (table.total_votes, table.sessions, table.complete_sessions, table.voting_participants) == (204, 18, 17, 17)
    for share in table.shares:
        k = PAPER_VOTES[share.method]
        assert share.votes == k and share.share == pytest.approx(k / 204, abs=1e-12)
        assert (share.ci_low, share.ci_high) == pytest.approx(PAPER_BOUNDS[share.method], abs=1e-6)
    assert [round(100 * s.share, 2) for s in table.shares] == [1.47, 1.96, 12.25, 84.31]
    assert table.per_clip == per_clip and sum(table.by_position) == 204
    everyone = compute_results(root)
    assert everyone.total_votes == 205 and everyone.shares[0].votes == 4 and everyone.voting_participants == 18


def test_formats_and_html(voted_study):
    root, per_clip = voted_study
    md = CliRunner().invoke(study_cli, ["results", str(root), "--complete-only"])
    assert md.exit_code == 0, md.output
    assert "| STN-lm | 172 | 84.31% | [78.69%, 88.66%] |" in md.output
    assert "SI / SI-lm / STN / STN-lm\t1.47% / 1.96% / 12.25% / 84.31%" in md.output and "Wilson" in md.output
    rows = list(csv.DictReader(io.StringIO(CliRunner().invoke(
        study_cli, ["results", str(root), "--format", "csv", "--complete-only", "--no-html"]).stdout)))
    overall = {r["method"]: r for r in rows if r["scope"] == "all"}
    assert float(overall["SI"]["ci95_high"]) == pytest.approx(PAPER_BOUNDS["SI"][1], abs=1e-6)
    assert sum(int(r["votes"]) for r in rows if r["scope"] == "clip") == 204
    data = json.loads(CliRunner().invoke(study_cli, ["results", str(root), "--format", "json", "--no-html"]).stdout)
    assert data["total_votes"] == 205 and data["shares"][3]["method"] == "STN-lm"
    page = (root / "results.html").read_text()
    assert page.startswith("<!doctype html>") and "84.31%" in page and "<script" not in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # self-contained
    section = results_html_section(root, complete_only=True)
    assert section.startswith('<section class="stngan-study">') and section.endswith("</section>")
    assert "78.69% – 88.66%" in section and "<svg" in section


def test_results_without_votes(tmp_path, voted_study):
    root, _ = voted_study
    empty = compute_results(root, db_path=tmp_path / "none.sqlite")
    assert empty.total_votes == 0 and all(s.share is None and s.ci_low is None for s in empty.shares)
    assert "n/a" in results_html_section(root, db_path=tmp_path / "none.sqlite")
    bad = CliRunner().invoke(study_cli, ["results", str(tmp_path)])
    assert bad.exit_code == 1 and "no study manifest here" in bad.output
