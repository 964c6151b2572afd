"""End-to-end video throughput and memory: decode → detect → landmarks → mask → G → paste → encode.

Builds a 1280×720 one-face clip from the bundled sample (upscaled, looped), then times `anonymize` and
`inpaint` stage by stage and prints each stage's share. Then the memory run: anonymizes and inpaints a long
1920×1080 clip and samples RSS every --every frames of both passes; it must stay flat (streaming decode →
process → encode). The memory run uses a narrow generator (--long-width) and --max-res detection so that a
long clip fits a CPU budget: memory growth would come from the pipeline, not from the model's width.
The generators have explicitly random weights: this measures speed and memory, not quality.
Run: .venv/bin/python benchmarks/bench_pipeline.py [--frames 48] [--long 1500] [--device cpu] [--batch-frames 0]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import torch

from stngan import config
from stngan.inference import app, crops, frames as frames_mod
from stngan.inference.demo import sample_clip
from stngan.inference.inpainter import Inpainter
from stngan.media import VideoReader, VideoWriter
from stngan.models.build import build_generator
from stngan.checkpoint import write_model

TIMES: dict[str, float] = defaultdict(float)


@contextmanager
def stage(name: str):
    t0 = time.perf_counter()
    yield
    TIMES[name] += time.perf_counter() - t0


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_clip(path: Path, count: int, width: int = 1280, height: int = 720, faces: int = 1) -> None:
    """A width×height clip of the bundled sample: the whole frame scaled (one face), or ``faces`` copies of
    it side by side on a grey canvas, each starting a different frame of the sample (independent motion)."""
    with VideoReader(sample_clip()) as reader:
        frames = [f.image for f in reader]
        like = dataclasses.replace(reader.info, width=width, height=height)
    if faces == 1:
        src = [cv2.resize(f, (width, height), interpolation=cv2.INTER_CUBIC) for f in frames]
    else:
        tile = min(width // faces, height)
        src = []
        for i in range(len(frames)):
            canvas = np.full((height, width, 3), 110, np.uint8)
            for k in range(faces):
                img = cv2.resize(frames[(i + 7 * k) % len(frames)], (tile, tile), interpolation=cv2.INTER_AREA)
                y0 = (height - tile) // 2
                canvas[y0:y0 + tile, k * tile:(k + 1) * tile] = img
            src.append(canvas)
    step = round(1 / (like.fps * like.time_base))  # pts per frame
    with VideoWriter(path, like, mode="lossy", crf=18, copy_audio=False) as writer:
        for i in range(count):
            writer.write(src[i % len(src)], i * step)


def instrument() -> None:
    """Wrap the stages' functions with timers (benchmark only)."""
    analyze = frames_mod.FaceAnalyzer.analyze
    frames_mod.FaceAnalyzer.analyze = lambda self, img: _timed("detect + landmarks", analyze, self, img)
    prep, paste, inpaint = crops.prepare_crop, crops.paste, Inpainter.inpaint
    frames_mod.prepare_crop = lambda *a: _timed("crop + mask + condition", prep, *a)
    frames_mod.paste = lambda *a: _timed("paste", paste, *a)
    Inpainter.inpaint = lambda self, items: _timed("generator", inpaint, self, items)
    read_iter, write = VideoReader.__iter__, VideoWriter.write

    def timed_iter(self):
        it = read_iter(self)
        while True:
            with stage("decode"):
                try:
                    frame = next(it)
                except StopIteration:
                    return
            yield frame

    VideoReader.__iter__ = timed_iter
    VideoWriter.write = lambda self, *a, **k: _timed("encode", write, self, *a, **k)


def _timed(name, fn, *args, **kwargs):
    with stage(name):
        return fn(*args, **kwargs)


def report(title: str, frames: int, seconds: float) -> None:
    print(f"\n{title}: {frames} frames in {seconds:.1f} s = {frames / seconds:.2f} fps")
    for name, t in sorted(TIMES.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<26}{t:8.2f} s  {100 * t / seconds:5.1f} %")
    TIMES.clear()


def checkpoint(folder: Path, *overrides: str) -> Path:
    cfg = config.load(None, ["loss.vgg_weights=random", *overrides])
    torch.manual_seed(0)
    folder.mkdir()
    write_model(folder, build_generator(cfg.model), cfg, 0)
    return folder


def memory_run(tmp: Path, args) -> None:
    """RSS every `args.every` frames while a long 1080p clip is anonymized, then inpainted."""
    clip = tmp / "long.mp4"
    make_clip(clip, args.long, 1920, 1080)
    samples: dict[str, list[float]] = {"anonymize": [], "inpaint": []}
    read_iter = VideoReader.__iter__

    def sampled_iter(self):
        for frame in read_iter(self):
            if frame.index % args.every == 0:
                samples[phase].append(rss_mb())
            yield frame

    VideoReader.__iter__ = sampled_iter
    video = app.VideoOptions("lossy", 18)
    phase = "anonymize"
    app.anonymize_video(clip, tmp / "long_masked.mp4", frames_mod.AnonymizeOptions(max_res=640), video, False)
    phase = "inpaint"
    inpainter = Inpainter(checkpoint(tmp / "narrow", f"model.g_width={args.long_width}"), device=args.device)
    app.inpaint_video(tmp / "long_masked.mp4", tmp / "long_out.mp4", inpainter, None, app.LandmarkControl(), video,
                      False, args.batch_frames)
    VideoReader.__iter__ = read_iter
    print(f"\nRSS (MB) over a {args.long}-frame 1920x1080 clip, every {args.every} frames:")
    for name, rss in samples.items():
        half = rss[len(rss) // 2:]
        slope = (half[-1] - half[0]) / max(1, (len(half) - 1) * args.every) * 1000
        print(f"  {name:<10} first {rss[0]:.0f}, peak {max(rss):.0f}, last {rss[-1]:.0f}; "
              f"second half {slope:+.1f} MB per 1000 frames")
        print("    " + " ".join(f"{r:.0f}" for r in rss))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--long", type=int, default=1500, help="frames of the memory run (0 = skip)")
    ap.add_argument("--every", type=int, default=25, help="RSS sampling period of the memory run (frames)")
    ap.add_argument("--long-width", type=int, default=16, help="generator width of the memory run")
    ap.add_argument("--skip-speed", action="store_true", help="only the memory run")
    ap.add_argument("--batch-frames", type=int, default=0, help="frames per model call (0: 16 on CUDA, 1 on CPU)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    print(f"device {args.device}, {os.cpu_count()} CPUs, torch {torch.__version__}, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.skip_speed:
            clip = tmp / "clip720.mp4"
            make_clip(clip, args.frames)
            instrument()
            video = app.VideoOptions("lossy", 18)
            t0 = time.perf_counter()
            app.anonymize_video(clip, tmp / "masked.mp4", frames_mod.AnonymizeOptions(), video, progress=False)
            report("anonymize 1280x720", args.frames, time.perf_counter() - t0)
            inpainter = Inpainter(checkpoint(tmp / "ckpt"), device=args.device)
            t0 = time.perf_counter()
            app.inpaint_video(tmp / "masked.mp4", tmp / "out.mp4", inpainter, None, app.LandmarkControl(), video,
                              False, args.batch_frames)
            report(f"inpaint 1280x720 (G paper widths, {args.device}, batch-frames {args.batch_frames or 'auto'})",
                   args.frames, time.perf_counter() - t0)
        if args.long:
            memory_run(tmp, args)


if __name__ == "__main__":
    main()
