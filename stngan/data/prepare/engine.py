"""Run a plan: parallel, resumable, shardable across machines, with a progress bar and a report.

* Parallel: shards are prepared by ``workers`` processes (spawned, so no state leaks from the parent).
* Resumable: a shard directory exists only once complete (atomic rename), so a rerun skips finished
  shards and removes the temporary directories a killed run left behind.
* Shardable: ``shard=(i, n)`` prepares only shards ``k`` with ``k % n == i``; n machines sharing the output
  directory (or whose outputs are merged into one) produce the same store as one machine.
* The manifest is rebuilt from all finished shards at the start and at the end of every run.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from tqdm import tqdm

from stngan.data import layout
from stngan.data.atomic import read_json, write_text_atomic
from stngan.data.prepare.manifest import finished_shards, write_manifest
from stngan.data.prepare.plan import ExtractOptions, Plan, check_shard, config_hash
from stngan.data.prepare.shard_job import ShardJob, run_shard
from stngan.data.store import StoreError
from stngan.errors import InputError
from stngan.parallel import run_jobs

_STORE_ENTRIES = (layout.MANIFEST, layout.SOURCES, layout.IDENTITIES)


def _check_destination(dst: Path, chash: str) -> None:
    """Refuse to mix stores: ``dst`` must be new, empty, or a store (finished or not) with this config."""
    manifest = dst / layout.MANIFEST
    if manifest.is_file():
        other = read_json(manifest).get("config_hash")
        if other != chash:
            raise StoreError(f"{dst} holds a store prepared with another config or dataset listing "
                             f"({other} != {chash}); use a new output directory or delete it")
        return
    strangers = [p.name for p in dst.iterdir() if not (p.name in _STORE_ENTRIES or p.name.startswith(
        (layout.SHARD_PREFIX, layout.TMP_PREFIX)))]
    if strangers:
        raise StoreError(f"output directory {dst} is not empty and not a store (found {strangers[0]!r}); "
                         "choose a new or empty directory")


def _write_tables(dst: Path, plan: Plan) -> None:
    tables = {layout.SOURCES: [u.path for u in plan.units], layout.IDENTITIES: list(plan.identities)}
    for name, lines in tables.items():
        if lines:
            text = "\n".join(lines) + "\n"
            p = dst / name
            if not p.is_file() or p.read_text(encoding="utf-8") != text:
                write_text_atomic(p, text)


def _remove_stale_tmp(dst: Path, shards: list[int]) -> None:
    """Temporary shard directories of a killed run; only this slice's, other machines may be writing."""
    for k in shards:
        for d in dst.glob(f"{layout.tmp_shard_prefix(k)}*"):
            shutil.rmtree(d, ignore_errors=True)


def _jobs(plan: Plan, dst: Path, extract: ExtractOptions, chash: str, shards: list[int]) -> list[ShardJob]:
    jobs = []
    for k in shards:
        r = plan.shard_units(k)
        jobs.append(ShardJob(plan.root, dst, k, r.start, plan.units[r.start:r.stop], extract, chash))
    return jobs


def _progress_total(jobs: list[ShardJob]) -> int | None:
    """Frames to come, or None when a video without a frame limit makes it unknown."""
    units = [u for job in jobs for u in job.units]
    if any(u.kind == "video" and not u.max_frames for u in units):
        return None
    return sum(u.max_frames if u.kind == "video" else 1 for u in units)


def run_plan(plan: Plan, dst: str | Path, extract: ExtractOptions, *, workers: int = 1,
             shard: tuple[int, int] = (0, 1), progress: bool = True, max_shards: int | None = None) -> dict:
    """Prepare the store ``dst`` from ``plan`` and return its report (see module doc for the guarantees).

    ``max_shards`` stops after that many shards (a time-boxed run; rerun to continue). Returns a dict:
    ``store``, ``complete``, ``counts`` (faces per split), ``report`` (the whole store's, see
    :class:`~stngan.data.prepare.report.Report`) and ``run`` (this run's shards, seconds, frames/s, faces/s).
    """
    check_shard(shard)
    if workers < 1:
        raise InputError(f"workers must be >= 1, got {workers}")
    dst = Path(dst)
    if dst.exists() and not dst.is_dir():
        raise StoreError(f"output {dst} is a file; give a directory for the store")
    dst.mkdir(parents=True, exist_ok=True)
    config = plan.config(extract)
    chash = config_hash(config)
    _check_destination(dst, chash)
    _write_tables(dst, plan)
    i, n = shard
    mine = [k for k in range(plan.n_shards) if k % n == i]
    _remove_stale_tmp(dst, mine)
    write_manifest(dst, plan, config, chash)
    done = finished_shards(dst)
    todo = [k for k in mine if k not in done][:max_shards]
    jobs = _jobs(plan, dst, extract, chash, todo)
    start = time.perf_counter()
    with tqdm(total=_progress_total(jobs), unit="frame", disable=not progress, desc=f"prepare {plan.kind}",
              dynamic_ncols=True) as bar:
        run_jobs(run_shard, jobs, workers, bar)
    seconds = time.perf_counter() - start
    manifest = write_manifest(dst, plan, config, chash)
    finished = finished_shards(dst)
    now = [finished[k]["report"] for k in todo]
    frames, faces = sum(r["frames"] for r in now), sum(r["faces"] for r in now)
    return {
        "store": str(dst), "complete": manifest["complete"], "counts": manifest["counts"],
        "report": manifest["report"],
        "run": {"shards_prepared": len(todo), "shards_skipped": sum(k in done for k in mine), "seconds": seconds,
                "frames_per_s": frames / seconds if seconds > 0 else 0.0,
                "faces_per_s": faces / seconds if seconds > 0 else 0.0},
    }
