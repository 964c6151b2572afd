"""Write an evaluation's tables (Markdown + CSV), summaries (JSON) and HTML report into one folder."""
from __future__ import annotations

import json
import math
from pathlib import Path

from stngan.evaluation.suites import ControlStudy, SetResults
from stngan.report import tables
from stngan.report.build import build_report


def suite_tables(results: dict[str, list[SetResults]], studies: list[ControlStudy]) -> dict[str, tables.Table]:
    """File stem -> table, for the suites that ran, in print order."""
    out: dict[str, tables.Table] = {}
    if "table1" in results:
        out["table1"], out["table1_paper"] = tables.table1(results["table1"]), tables.paper_table1()
    if "table2" in results:
        out["table2a"], out["table2"] = tables.table2a(results["table2"]), tables.table2_details(results["table2"])
        out["table2a_paper"] = tables.paper_table2a()
    if "id" in results:
        feats = [f for f in ("dlib", "vggface2") if any(f in rec for r in results["id"] for rec in r.outputs.values())]
        out.update({f"id_{f}": tables.identity_table(results["id"], f) for f in feats})
    if "perturb" in results and studies:
        out["control"] = tables.control_table(studies)
    return out


def _json_safe(v: float) -> float | str:
    return v if math.isfinite(v) else str(v)


def write_outputs(out_dir: Path, results: dict[str, list[SetResults]], studies: list[ControlStudy],
                  notes: list[str], run_info: list[str]) -> dict[str, tables.Table]:
    """``<stem>.md`` / ``<stem>.csv`` per table, ``results.json`` and ``report.html``; returns the tables."""
    out_dir.mkdir(parents=True, exist_ok=True)
    made = suite_tables(results, studies)
    for stem, t in made.items():
        (out_dir / f"{stem}.md").write_text(t.markdown(), encoding="utf-8")
        (out_dir / f"{stem}.csv").write_text(t.csv(), encoding="utf-8")
    summary = {suite: {r.evalset.name: {label: {k: _json_safe(v) for k, v in vals.items()}
                                         for label, vals in r.summary.items()} for r in rs}
               for suite, rs in results.items()}
    (out_dir / "results.json").write_text(json.dumps({"run": run_info, "notes": notes, "summary": summary}, indent=1))
    tmp = out_dir / ".report.html.tmp"
    tmp.write_text(build_report(results, studies, notes, run_info), encoding="utf-8")
    tmp.replace(out_dir / "report.html")
    return made
