"""Batch throughput (stngan/batch): files per hour with 1 worker, N workers and a local Ray instance on the
same cores; the job file's size per 10,000 files; how long a second run over a finished corpus takes.

    python benchmarks/bench_batch.py [--files 16] [--size 160x120] [--frames 12] [--detector mtcnn+blazeface]
                                     [--records 10000] [--repeat 2] [--skip-ray]

The corpus is tiny synthetic clips (the astronaut panning, tests/clips.py's recipe) anonymised losslessly,
so the per-file fixed costs (worker start, model load, container open) weigh as much as they can: the
ratios are a lower bound for real clips. Every run includes its worker start-up; Ray's own start
(ray.init) is reported apart, as a cluster is started once for many batches. Each configuration runs
--repeat times and the fastest run is reported (load from other jobs on the machine only slows a run down).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from skimage import data as skdata

from stngan.batch.jobs import load_records, write_records
from stngan.batch.runner import BatchOptions, default_job_file, run_batch
from stngan.batch.work import AnonymizeWork, source_of
from stngan.inference.app import VideoOptions
from stngan.inference.frames import AnonymizeOptions


def write_clip(path: Path, width: int, height: int, count: int, seed: int) -> None:
    photo = np.tile(skdata.astronaut(), (2, 2, 1))
    top, left = np.random.default_rng(seed).integers(0, 64, size=2)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 25)
        for i in range(count):
            y, x = top + 3 * i, left + 5 * i
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(photo[y:y + height, x:x + width]), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def machine() -> str:
    return (f"{platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
            f"load average {os.getloadavg()[0]:.2f} at {time.strftime('%Y-%m-%d %H:%M')}")


def timed_batch(work, src: Path, out: Path, options: BatchOptions) -> tuple[float, float, dict]:
    """(wall s, summed per-file s, counts) of one batch into a fresh output folder."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    summary = run_batch(work, src, out, options)
    return time.perf_counter() - start, summary.busy_s, summary.counts


def job_file_size(work, root: Path, count: int) -> tuple[int, float, float]:
    """A finished corpus of ``count`` tiny files with their job file: (bytes, write s, second-run s in-process)."""
    src, out = root / "many_in", root / "many_out"
    template = next(r for r in load_records(default_job_file(root / "n_workers", None)).values()
                    if r["status"] == "done")
    records = []
    for i in range(count):
        rel = f"d{i // 1000:02d}/clip{i:05d}.mp4"
        for base in (src, out):
            (base / rel).parent.mkdir(parents=True, exist_ok=True)
            (base / rel).write_bytes(b"x")
        records.append({**template, "input": rel, "output": rel, "source": source_of(src / rel)})
    job_file = default_job_file(out, None)
    start = time.perf_counter()
    write_records(job_file, records)
    write_s = time.perf_counter() - start
    start = time.perf_counter()
    summary = run_batch(work, src, out, BatchOptions(jobs=2, progress=False))
    second_s = time.perf_counter() - start
    assert summary.counts == {"done_before": count}, summary.counts
    return job_file.stat().st_size, write_s, second_s


def report(results: dict[str, list[tuple]], files: int, cores: int, ray_init: float) -> None:
    """Per configuration: the first run (cold: workers start, models load) and the fastest of all runs."""
    print(f"\n{'run':<16} {'first s':>8} {'best s':>8} {'files/h first':>14} {'files/h best':>13} {'file s':>7}")
    for name, runs in results.items():
        first, best = runs[0], min(runs, key=lambda r: r[0])
        print(f"{name:<16} {first[0]:>8.1f} {best[0]:>8.1f} {files / first[0] * 3600:>14.0f} "
              f"{files / best[0] * 3600:>13.0f} {best[1]:>7.1f}  {best[2]}")
    print("(file s: per-file times of the best run summed; first-to-best: Ray keeps its workers between batches,")
    print(" a local batch starts its own)")
    one, many = results["1 worker"], results[f"{cores} workers"]
    print(f"\n{cores} workers / 1 worker: {one[0][0] / many[0][0]:.2f}x files per hour first run, "
          f"{min(r[0] for r in one) / min(r[0] for r in many):.2f}x best")
    ray_runs = results.get(f"Ray, {cores} CPUs")
    if ray_runs:
        print(f"Ray / {cores} local workers: {many[0][0] / ray_runs[0][0]:.2f}x files per hour first run, "
              f"{min(r[0] for r in many) / min(r[0] for r in ray_runs):.2f}x best "
              f"(ray.init itself {ray_init:.1f} s, not counted)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=24)
    parser.add_argument("--size", default="160x120")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--detector", default="mtcnn+blazeface")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs per configuration; the fastest is reported")
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    cores = len(os.sched_getaffinity(0))
    print(f"machine: {machine()}")
    print(f"corpus: {args.files} clips {width}x{height}, {args.frames} frames, anonymize --detector {args.detector} "
          f"--lossless; {args.repeat} runs per configuration")
    work = AnonymizeWork(AnonymizeOptions(detector=args.detector), VideoOptions("lossless"))
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        root = Path(tmp)
        src = root / "in"
        src.mkdir()
        for i in range(args.files):
            write_clip(src / f"clip{i:03d}.mp4", width, height, args.frames, i)
        runs = {"1 worker": BatchOptions(jobs=1, threads=cores, progress=False),
                f"{cores} workers": BatchOptions(jobs=cores, threads=1, progress=False)}
        results: dict[str, list[tuple]] = {}  # name -> (wall s, summed per-file s, counts) of each run
        for _ in range(args.repeat):
            for name, options in runs.items():
                out = root / ("n_workers" if options.jobs > 1 else "one")
                results.setdefault(name, []).append(timed_batch(work, src, out, options))
        ray_init = 0.0
        if not args.skip_ray:
            import ray

            start = time.perf_counter()
            ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False, configure_logging=False)
            ray_init = time.perf_counter() - start
            try:
                for _ in range(args.repeat):
                    results.setdefault(f"Ray, {cores} CPUs", []).append(
                        timed_batch(work, src, root / "ray", BatchOptions(ray="auto", threads=1, progress=False)))
            finally:
                ray.shutdown()
        report(results, args.files, cores, ray_init)

        start = time.perf_counter()
        again = run_batch(work, src, root / "n_workers", BatchOptions(jobs=cores, progress=False))
        print(f"second run over the finished {args.files}-file corpus: {time.perf_counter() - start:.2f} s "
              f"in-process, {again.counts}")
        size, write_s, second_s = job_file_size(work, root, args.records)
        print(f"job file for {args.records} files: {size / 1e6:.2f} MB ({size / args.records:.0f} bytes per file), "
              f"written in {write_s:.2f} s")
        print(f"second run over a finished {args.records}-file corpus: {second_s:.2f} s in-process")
        start = time.perf_counter()
        subprocess.run([str(Path(sys.executable).with_name("stngan")), "anonymize", str(root / "many_in"), "-o",
                        str(root / "many_out"), "--jobs", str(cores), "--detector", args.detector, "--lossless", "--quiet"],
                       check=True, capture_output=True)
        print(f"the same as a command (`stngan anonymize ... --jobs {cores}`, start-up included): "
              f"{time.perf_counter() - start:.2f} s")
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()
