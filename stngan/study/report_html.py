"""Self-contained HTML of the study results: a fragment for the evaluation report and a full page.

The fragment has no external resources, no script and only styles scoped to ``.stngan-study``, so it can
be pasted into any HTML report.
"""
from __future__ import annotations

import os
from html import escape
from pathlib import Path

from stngan.study.results import StudyResults, compute_results, percent

RESULTS_HTML = "results.html"
_STYLE = """<style>
.stngan-study{font-family:system-ui,sans-serif;color:#222;max-width:60rem}
.stngan-study table{border-collapse:collapse;margin:.5rem 0 1rem}
.stngan-study th,.stngan-study td{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}
.stngan-study th:first-child,.stngan-study td:first-child{text-align:left}
.stngan-study .note{font-size:.85rem;color:#555}
</style>"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _chart(r: StudyResults) -> str:
    """Horizontal bars of the shares with Wilson interval whiskers, as inline SVG."""
    label_w, bar_w, row_h = 90, 360, 26
    height = row_h * len(r.shares) + 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 70}" height="{height}" '
             f'role="img" aria-label="vote share per method with 95% Wilson intervals" font-size="12">']
    for i, s in enumerate(r.shares):
        y = i * row_h + 4
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(s.method)}</text>')
        if s.share is None:
            continue
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{s.share * bar_w:.1f}" height="16" fill="#4a7bd0"/>')
        lo, hi = label_w + s.ci_low * bar_w, label_w + s.ci_high * bar_w
        parts.append(f'<path d="M{lo:.1f} {y + 11}H{hi:.1f}M{lo:.1f} {y + 6}V{y + 16}M{hi:.1f} {y + 6}V{y + 16}" '
                     'stroke="#222" fill="none"/>')
        parts.append(f'<text x="{hi + 6:.1f}" y="{y + 15}">{percent(s.share)}</text>')
    axis = row_h * len(r.shares) + 6
    parts.append(f'<path d="M{label_w} {axis}H{label_w + bar_w}" stroke="#888"/>')
    parts += [f'<text x="{label_w + f * bar_w:.0f}" y="{axis + 14}" text-anchor="middle">{int(f * 100)}%</text>'
              for f in (0, 0.25, 0.5, 0.75, 1)]
    return "".join(parts) + "</svg>"


def render_section(r: StudyResults) -> str:
    shares = _table(["method", "votes", "share", "95% CI (Wilson)"],
                    [[s.method, str(s.votes), percent(s.share),
                      "n/a" if s.ci_low is None else f"{percent(s.ci_low)} – {percent(s.ci_high)}"] for s in r.shares])
    clips = _table(["clip", *r.methods, "total"],
                   [[clip, *map(str, counts.values()), str(sum(counts.values()))]
                    for clip, counts in r.per_clip.items()])
    summary = (f"{r.total_votes} votes from {r.voting_participants} participants "
               f"({r.complete_sessions} of {r.sessions} sessions complete"
               f"{'; complete sessions only' if r.complete_only else ''}).")
    return (f'<section class="stngan-study">{_STYLE}<h2>Human preference study</h2>'
            f"<p>{escape(r.title)}: {escape(summary)}</p>{shares}{_chart(r)}"
            f"<h3>Votes per clip</h3>{clips}"
            f'<p class="note">Votes by screen position (left to right): {escape(", ".join(map(str, r.by_position)))}. '
            f"{escape(r.ci_note)}</p></section>")


def results_html_section(study_dir: str | os.PathLike, db_path: str | os.PathLike | None = None,
                         complete_only: bool = False) -> str:
    """The results as one self-contained ``<section>`` for embedding in the evaluation report."""
    return render_section(compute_results(study_dir, db_path, complete_only))


def write_results_html(study_dir: str | os.PathLike, r: StudyResults) -> Path:
    """Write STUDY_DIR/results.html (a complete page around :func:`render_section`)."""
    path = Path(study_dir) / RESULTS_HTML
    page = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(r.title)} - results</title></head><body>{render_section(r)}</body></html>\n")
    path.write_text(page, encoding="utf-8")
    return path
