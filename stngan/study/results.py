"""``stngan study results``: Table 2b (share of votes per method, 95 % Wilson interval) and per-clip counts."""
from __future__ import annotations

import csv
import io
import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from stngan.study.manifest import load_manifest
from stngan.study.stats import wilson_interval
from stngan.study.store import DB_NAME, read_votes

CI_NOTE = ("95 % Wilson score interval per method (binomial, no continuity correction), treating every vote "
           "as independent; repeated votes by one participant make the true uncertainty somewhat larger.")


@dataclass(frozen=True)
class MethodShare:
    method: str
    votes: int
    share: float | None  # None when there are no votes at all
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class StudyResults:
    title: str
    methods: list[str]
    total_votes: int
    sessions: int
    complete_sessions: int
    voting_participants: int
    complete_only: bool
    shares: list[MethodShare]
    per_clip: dict[str, dict[str, int]]  # clip -> method -> votes
    by_position: list[int]  # votes per screen position, left to right (a position-bias check)
    median_response_s: float | None
    ci_note: str = CI_NOTE

    def to_dict(self) -> dict:
        return asdict(self)


def compute_results(study_dir: str | Path, db_path: str | Path | None = None,
                    complete_only: bool = False) -> StudyResults:
    """Tally the votes of a study (``db_path`` defaults to STUDY_DIR/votes.sqlite)."""
    manifest = load_manifest(study_dir)
    votes, stats = read_votes(db_path or Path(study_dir) / DB_NAME)
    if complete_only:
        votes = [v for v in votes if v.session_id in stats.complete_ids]
    total = len(votes)
    shares = []
    for method in manifest.methods:
        k = sum(v.method == method for v in votes)
        low, high = wilson_interval(k, total) if total else (None, None)
        shares.append(MethodShare(method, k, k / total if total else None, low, high))
    per_clip = {c.name: {m: 0 for m in manifest.methods} for c in manifest.clips}
    by_position = [0] * len(manifest.methods)
    for v in votes:
        per_clip[v.clip][v.method] += 1
        by_position[v.slot] += 1
    times = [v.response_ms / 1000 for v in votes if v.response_ms is not None]
    return StudyResults(title=manifest.title, methods=list(manifest.methods), total_votes=total,
                        sessions=stats.sessions, complete_sessions=stats.complete_sessions,
                        voting_participants=len({v.session_id for v in votes}), complete_only=complete_only,
                        shares=shares, per_clip=per_clip, by_position=by_position,
                        median_response_s=statistics.median(times) if times else None)


def percent(value: float | None) -> str:
    """A share in [0, 1] as "12.34%" ("n/a" when unknown): the one format of the study's tables and page."""
    return "n/a" if value is None else f"{100 * value:.2f}%"


def _ci(share: MethodShare) -> str:
    return "n/a" if share.ci_low is None else f"[{percent(share.ci_low)}, {percent(share.ci_high)}]"


def format_markdown(r: StudyResults) -> str:
    only = "; complete sessions only" if r.complete_only else ""
    lines = [f"Human preference ({r.total_votes} votes from {r.voting_participants} participants; "
             f"{r.complete_sessions} of {r.sessions} sessions complete{only})",
             "", "| method | votes | share | 95% CI (Wilson) |", "|---|---:|---:|---|"]
    lines += [f"| {s.method} | {s.votes} | {percent(s.share)} | {_ci(s)} |" for s in r.shares]
    lines += ["", " / ".join(r.methods) + "\t" + " / ".join(percent(s.share) for s in r.shares), "",
              "Votes per clip:", "", "| clip | " + " | ".join(r.methods) + " | total |",
              "|---|" + "---:|" * (len(r.methods) + 1)]
    lines += [f"| {clip} | " + " | ".join(str(n) for n in counts.values()) + f" | {sum(counts.values())} |"
              for clip, counts in r.per_clip.items()]
    lines += ["", "Votes by screen position (left to right): " + ", ".join(map(str, r.by_position)),
              f"Median time to vote: {'n/a' if r.median_response_s is None else f'{r.median_response_s:.1f} s'}",
              "", r.ci_note]
    return "\n".join(lines) + "\n"


def format_csv(r: StudyResults) -> str:
    """Rows ``scope,clip,method,votes,share,ci95_low,ci95_high``: scope "all" (Table 2b) then "clip"."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["scope", "clip", "method", "votes", "share", "ci95_low", "ci95_high"])
    for s in r.shares:
        writer.writerow(["all", "", s.method, s.votes, *("" if x is None else f"{x:.6f}"
                                                        for x in (s.share, s.ci_low, s.ci_high))])
    for clip, counts in r.per_clip.items():
        for method, n in counts.items():
            writer.writerow(["clip", clip, method, n, "", "", ""])
    return out.getvalue()


def format_json(r: StudyResults) -> str:
    return json.dumps(r.to_dict(), indent=2) + "\n"


FORMATTERS = {"md": format_markdown, "csv": format_csv, "json": format_json}
