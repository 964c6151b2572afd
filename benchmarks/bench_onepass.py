"""Raw video → inpainted video (1280×720 one face; --size/--faces for others): one pass against two commands
and a bare transcode.

Builds a 1280×720 one-face clip from the bundled real sample (bench_pipeline.make_clip), then times in one
run, with the shipped model, lossy H.264 out:

* ``bare``: decode → encode of the same clip (the ceiling: no face work at all);
* ``two passes``: ``stngan anonymize`` then ``stngan inpaint`` (in-process, as the CLI runs them);
* ``one pass``: ``stngan anonymize --inpaint`` (decode once, detect, mask, inpaint, encode once), once per
  G runtime of ``--runtimes`` (torch and ONNX Runtime by default: their fps ratio is printed too).

Prints frames per second (wall) and CPU seconds per frame for each, the one pass as a fraction of bare
(the issue's goal: >= 0.45) and as a multiple of the two passes. Wall figures mean something only on an
idle machine; the load average is printed with them.

Run: .venv/bin/python benchmarks/bench_onepass.py [--frames 96] [--detect-every 3] [--preset medium]
     .venv/bin/python benchmarks/bench_onepass.py --input /tmp/c720.mp4 --runtimes torch,onnx
     .venv/bin/python benchmarks/bench_onepass.py --size 1920x1080 --faces 5   (the issue's goal: >= 3 fps)
     .venv/bin/python benchmarks/bench_onepass.py --input CLIP --runs one --runtimes onnx --stages   (each stage's CPU)
     .venv/bin/python benchmarks/bench_onepass.py --device cuda --runtimes torch   (a lent GPU: the card's name is printed)
     .venv/bin/python benchmarks/bench_onepass.py --size 1920x1080 --frames 3000 --runs one --runtimes onnx
         (memory: peak RSS, and the peaks of the run's two halves: equal when memory stays flat)
     .venv/bin/python benchmarks/bench_onepass.py --runtimes onnx --model shipped=si_lm --model fast=si_lm_fast
         (one pass per model, side by side; the two passes use the first)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `stngan` sets it (stngan/cli.py main), before torch loads
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import make_clip, rss_mb  # noqa: E402  (benchmarks/ is not a package)
from stage_cpu import StageClock  # noqa: E402

from stngan.inference import app  # noqa: E402
from stngan.inference.control import LandmarkControl  # noqa: E402
from stngan.inference.frames import AnonymizeOptions  # noqa: E402
from stngan.inference.fills import is_donor, open_inpainter  # noqa: E402
from stngan.inference.inpainter import Inpainter  # noqa: E402
from stngan.media import VideoReader, VideoWriter  # noqa: E402


def timed(fn) -> tuple[float, float, list[float]]:
    """(wall s, CPU s of this process and its threads, RSS in MB sampled every 0.5 s) of fn()."""
    samples, done = [rss_mb()], threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            samples.append(rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        fn()
    finally:
        done.set()
        sampler.join()
    return time.perf_counter() - wall, time.process_time() - cpu, samples + [rss_mb()]


def bare(src: Path, dst: Path, video: app.VideoOptions) -> None:
    with VideoReader(src) as reader, VideoWriter(dst, like=reader, mode=video.mode, crf=video.crf,
                                                 preset=video.preset) as writer:
        for frame in reader:
            writer.write(np.ascontiguousarray(frame.image), frame)


def print_stages(src: Path, dst: Path, options: AnonymizeOptions, video: app.VideoOptions, inpainter: Inpainter,
                 frames: int) -> None:
    with StageClock() as clock:
        wall = time.perf_counter()
        app.anonymize_video(src, dst, options, video, False, then=app.InpaintAfter(inpainter, LandmarkControl()))
        wall = time.perf_counter() - wall
    print(f"\nStages of one more one pass, G {inpainter.runtime_name}: {frames / wall:.2f} fps with the clocks on, "
          f"{clock.process_cpu / frames:.3f} CPU s per frame\n")
    print("| stage | calls | CPU ms per frame | share of the process CPU |")
    print("|---|---|---|---|")
    for label, calls, ms, share in clock.rows(frames):
        print(f"| {label} | {calls or ''} | {ms:.1f} | {share:.1f} % |")


def _device_name(device: str) -> str:
    import torch

    return torch.cuda.get_device_name(0) if device == "cuda" else "the CPU"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=96)
    ap.add_argument("--detect-every", type=int, default=AnonymizeOptions().detect_every)
    ap.add_argument("--preset", default=None, help="x264 preset of the outputs (default: the CLI's)")
    ap.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT of the clip (the issue also asks 1920x1080)")
    ap.add_argument("--faces", type=int, default=1, help="faces per frame (copies of the sample side by side)")
    ap.add_argument("--input", type=Path, help="time this clip instead of a generated one (--frames/--size/--faces unused)")
    ap.add_argument("--runtimes", default="torch,onnx", help="G runtimes of the one pass (the two passes use the first)")
    ap.add_argument("--device", default="cpu", help="where G runs (cuda on a lent GPU: faces of 16 frames per call; "
                    "detection stays on the CPU)")
    ap.add_argument("--rss-out", type=Path, help="write each run's RSS samples (MB, every 0.5 s) here as JSON")
    ap.add_argument("--runs", default="bare,two,one", help="which of bare, two (passes), one (pass) to time; a long "
                    "clip's memory run: --runs one")
    ap.add_argument("--model", action="append", default=[], help="LABEL=MODEL (checkpoint, export or shipped "
                    "name), repeatable: one pass per model and runtime (default: shipped=si_lm)")
    ap.add_argument("--stages", action="store_true", help="then one more one pass (first of --runtimes) with each "
                    "stage's CPU time measured inside it (benchmarks/stage_cpu.py; the wrappers cost a little)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="stngan_onepass_"))
    src = args.input or tmp / "clip.mp4"
    if args.input is None:
        width, height = (int(v) for v in args.size.split("x"))
        make_clip(src, args.frames, width, height, args.faces)
    with VideoReader(src) as reader:
        n, args.size = sum(1 for _ in reader), f"{reader.width}x{reader.height}"
    video = app.VideoOptions("lossy", 18, args.preset)
    options = AnonymizeOptions(detect_every=args.detect_every)
    models = dict(m.split("=", 1) for m in args.model or ["shipped=si_lm"])
    inpainters = {}
    for label, model in models.items():  # the donor fill has no G runtime: one run of it
        for r in ["-"] if is_donor(model) else args.runtimes.split(","):
            inpainters[label if r == "-" else f"{label}, G {r}"] = open_inpainter(model, runtime=r if r != "-" else "auto",
                                                                                   device=args.device)
    first = next(iter(inpainters.values()))
    wanted = set(args.runs.split(","))
    runs = {}
    if "bare" in wanted:
        runs["bare decode -> encode"] = lambda: bare(src, tmp / "bare.mp4", video)
    if "two" in wanted:
        runs[f"two passes (anonymize, then inpaint), G {first.runtime_name}"] = lambda: (
            app.anonymize_video(src, tmp / "masked.mp4", options, video, False),
            app.inpaint_video(tmp / "masked.mp4", tmp / "two.mp4", first, None, LandmarkControl(), video, False))
    for k, (name, inpainter) in enumerate(inpainters.items() if "one" in wanted else ()):
        runs[f"one pass (anonymize --inpaint), {name}"] = lambda i=inpainter, k=k: app.anonymize_video(
            src, tmp / f"one_{k}.mp4", options, video, False, then=app.InpaintAfter(i, LandmarkControl()))
    results = {name: timed(fn) for name, fn in runs.items()}
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f} at {time.strftime('%Y-%m-%d %H:%M')}; {n} frames {args.size}, {args.faces} face(s), "
          f"lossy H.264 preset {args.preset or 'veryfast'}, --detect-every {args.detect_every}, models "
          f"{', '.join(f'{k}={v}' for k, v in models.items())}, "
          f"G on {_device_name(args.device)}\n")
    print("| run | fps (wall) | CPU s per frame | peak RSS MB | RSS MB, peak of 1st / 2nd half of the run |")
    print("|---|---|---|---|---|")
    for name, (wall, cpu, rss) in results.items():
        half = len(rss) // 2
        print(f"| {name} | {n / wall:.2f} | {cpu / n:.3f} | {max(rss):.0f} | {max(rss[:half] or rss):.0f} / "
              f"{max(rss[half:]):.0f} |")
    for name, (_, _, rss) in results.items():
        quarters = [max(rss[len(rss) * k // 4:max(len(rss) * (k + 1) // 4, len(rss) * k // 4 + 1)]) for k in range(4)]
        print(f"{name}: RSS MB peak per quarter of the run " + " / ".join(f"{q:.0f}" for q in quarters))
    if args.rss_out:
        args.rss_out.write_text(json.dumps({name: rss for name, (_, _, rss) in results.items()}))
    if args.stages:
        print_stages(src, tmp / "stages.mp4", options, video, first, n)
    if not {"bare", "two", "one"} <= wanted:
        return
    (bw, _, _), (tw, _, _), *one_pass = results.values()
    print()
    for name, (ow, _, _) in zip(inpainters, one_pass):
        print(f"one pass, {name} = {bw / ow:.2f}x the speed of the bare transcode (goal >= 0.45), "
              f"{tw / ow:.2f}x the speed of the two passes")
    if len(one_pass) > 1:
        (w0, c0, _), (w1, c1, _) = one_pass[:2]
        a, b = list(inpainters)[:2]
        print(f"one pass with {b}: {w0 / w1:.2f}x the fps (wall) of {a}, {c1 / c0:.2f}x its CPU per frame")


if __name__ == "__main__":
    main()
