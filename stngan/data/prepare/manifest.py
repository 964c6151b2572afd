"""The store's ``manifest.json``: rebuilt from the finished shards on disk after every run."""
from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

from stngan.data import layout
from stngan.data.atomic import read_json, write_json_atomic
from stngan.data.prepare.plan import Plan
from stngan.data.prepare.report import Report
from stngan.data.store import StoreError


def finished_shards(dst: Path) -> dict[int, dict[str, Any]]:
    """Shard number -> its meta.json, for every finished shard directory in ``dst``."""
    out = {}
    for d in dst.glob(f"{layout.SHARD_PREFIX}*"):
        meta = d / layout.SHARD_META
        if d.is_dir() and meta.is_file():
            out[int(d.name[len(layout.SHARD_PREFIX):])] = read_json(meta)
    return out


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("stngan", "dlib-bin", "av", "numpy", "opencv-python-headless", "Pillow"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def build_manifest(dst: Path, plan: Plan, config: dict[str, Any], chash: str) -> dict[str, Any]:
    shards = finished_shards(dst)
    foreign = sorted(k for k, m in shards.items() if m.get("config_hash") != chash)
    if foreign:
        raise StoreError(f"{dst}: shard {layout.shard_name(foreign[0])} was prepared with another config; "
                         "use a new output directory")
    report = Report()
    counts = dict.fromkeys(layout.SPLITS, 0)
    for k in sorted(shards):
        report.merge(Report.from_dict(shards[k]["report"]))
        for split, n in shards[k]["split_counts"].items():
            counts[split] += n
    return {
        "format_version": layout.FORMAT_VERSION,
        "kind": plan.kind,
        "source_root": str(plan.root),
        "config": config,
        "config_hash": chash,
        "shards_total": plan.n_shards,
        "shards": [{"name": layout.shard_name(k), "count": shards[k]["count"]} for k in sorted(shards)],
        "complete": len(shards) == plan.n_shards,
        "count": sum(counts.values()),
        "counts": counts,
        "report": {**report.to_dict(), "excluded": list(plan.excluded)},
        "created_with": _versions(),
    }


def write_manifest(dst: Path, plan: Plan, config: dict[str, Any], chash: str) -> dict[str, Any]:
    manifest = build_manifest(dst, plan, config, chash)
    write_json_atomic(dst / layout.MANIFEST, manifest)
    return manifest
