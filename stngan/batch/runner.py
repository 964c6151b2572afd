"""A batch from start to end: list the inputs, take the shard, skip what the job file says is done, run the
rest locally or on Ray, record every result as it arrives, and sum up."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from stngan.batch.errors import BatchError
from stngan.batch.jobs import DONE, FAILED, SKIPPED, JobFile
from stngan.batch.local import run_local
from stngan.batch.manifest import JOB_FILE_PREFIX, Shard, is_manifest, list_inputs
from stngan.batch.ray_runner import run_ray
from stngan.batch.work import Task, source_of
from stngan.inference.app import check_output


@dataclass(frozen=True)
class BatchOptions:
    jobs: int = 1  # local worker processes (0: one per core)
    threads: int = 0  # threads per worker / CPUs per Ray task (0: cores // jobs locally, 1 on Ray)
    shard: Shard | None = None
    job_file: Path | None = None
    ray: str | None = None  # "local", "auto" or a cluster address
    retries: int = 2  # times a file is retried when its worker dies
    overwrite: bool = False
    progress: bool = True

    def workers_and_threads(self) -> tuple[int, int]:
        cores = len(os.sched_getaffinity(0))
        jobs = self.jobs or cores
        return jobs, self.threads or (1 if self.ray else max(1, cores // jobs))


@dataclass
class Summary:
    job_file: Path
    counts: dict[str, int] = field(default_factory=dict)  # done, done_before, failed, skipped
    frames: int = 0
    faces: int = 0
    busy_s: float = 0.0  # summed per-file time of this run
    wall_s: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def add(self, record: dict) -> None:
        status = record["status"]
        self.counts[status] = self.counts.get(status, 0) + 1
        self.busy_s += record.get("duration_s", 0.0)
        if status == DONE:
            self.frames += record["frames"]
            self.faces += record["faces"]
        elif status == FAILED:
            self.failures.append((record["input"], record["error"]))
        else:
            self.skipped.append((record["input"], record["error"]))


def default_job_file(dst: Path, shard: Shard | None) -> Path:
    return dst / (f"{JOB_FILE_PREFIX}.{shard.tag}.jsonl" if shard else f"{JOB_FILE_PREFIX}.jsonl")


def plan(work, src: Path, dst: Path, options: BatchOptions, jobs: JobFile) -> tuple[list[Task], int]:
    """The tasks still to do, and how many files the job file already has done with the same options."""
    inputs = list_inputs(src)
    if not is_manifest(src):
        check_output(src, dst, True)
    rels = [rel for rel in inputs.rels if options.shard is None or options.shard.holds(rel)]
    wanted, tasks, done = work.record(), [], 0
    for rel in rels:
        task = Task(rel, inputs.root / rel, dst / rel, dst, options.overwrite)
        if _is_done(jobs.records.get(rel), wanted, task):
            done += 1
        else:
            tasks.append(task)
    return tasks, done


def _is_done(record: dict | None, wanted: dict, task: Task) -> bool:
    """Done with these options, from this very input, and its output still there."""
    if record is None or record["status"] != DONE or record["options"] != wanted:
        return False
    try:
        return record["source"] == source_of(task.src) and (task.out_root / record["output"]).is_file()
    except OSError:
        return False


def run_batch(work, src: Path, dst: Path, options: BatchOptions) -> Summary:
    start = time.perf_counter()
    jobs_n, threads = options.workers_and_threads()
    if jobs_n < 1 or threads < 1:
        raise BatchError("--jobs and --threads must be at least 1 (0: automatic)")
    job_file = JobFile(options.job_file or default_job_file(dst, options.shard))
    tasks, done_before = plan(work, src, dst, options, job_file)
    summary = Summary(job_file.path, {"done_before": done_before})
    bar = tqdm(total=len(tasks), desc=f"{work.command} {src.name}", unit="file", disable=not options.progress,
               dynamic_ncols=True)

    def on_result(record: dict) -> None:
        job_file.update(record)
        summary.add(record)
        bar.update(1)
        bar.set_postfix(frames=summary.frames, faces=summary.faces, failed=summary.counts.get(FAILED, 0),
                        refresh=False)

    try:
        if options.ray:
            run_ray(work, tasks, options.ray, threads, on_result, max_retries=options.retries)
        else:
            run_local(work, tasks, jobs_n, threads, on_result, retries=options.retries)
    finally:
        bar.close()
        job_file.flush()
    summary.wall_s = time.perf_counter() - start
    return summary


def summary_lines(summary: Summary, max_listed: int = 20) -> list[str]:
    """The final table, then one line per failed or skipped file (the first ``max_listed``)."""
    c = summary.counts
    rows = [("done now", c.get(DONE, 0)), ("done before", c.get("done_before", 0)), ("failed", c.get(FAILED, 0)),
            ("skipped", c.get(SKIPPED, 0))]
    per_hour = c.get(DONE, 0) / summary.wall_s * 3600 if summary.wall_s > 0 else 0.0
    lines = [f"{'files':<12} {'count':>7}", *(f"{name:<12} {n:>7}" for name, n in rows),
             f"{'total':<12} {sum(n for _, n in rows):>7}",
             f"frames {summary.frames}, faces {summary.faces}, wall {summary.wall_s:.1f} s, "
             f"{per_hour:.0f} files/h, job file {summary.job_file}"]
    listed = [("failed", *f) for f in summary.failures] + [("skipped", *s) for s in summary.skipped]
    lines += [f"{kind}: {rel}: {error}" for kind, rel, error in listed[:max_listed]]
    if len(listed) > max_listed:
        lines.append(f"... {len(listed) - max_listed} more in the job file")
    return lines
