"""End-to-end video throughput and memory: decode → detect → landmarks → mask → G → paste → encode.

Builds a 1280×720 one-face clip from the bundled sample (upscaled, looped), then times `anonymize` and
`inpaint` stage by stage and prints each stage's share; then inpaints a long clip and prints RSS every
100 frames (it must stay flat: streaming decode → process → encode).
The generator has the paper's widths with explicitly random weights: this measures speed, not quality.
Run: .venv/bin/python benchmarks/bench_pipeline.py [--frames 48] [--long 600] [--device cpu]
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
import torch

from stngan import config
from stngan.inference import app, crops, frames as frames_mod
from stngan.inference.demo import sample_clip
from stngan.inference.inpainter import Inpainter
from stngan.media import VideoReader, VideoWriter
from stngan.models.build import build_generator
from stngan.training.checkpoint import write_model

TIMES: dict[str, float] = defaultdict(float)


@contextmanager
def stage(name: str):
    t0 = time.perf_counter()
    yield
    TIMES[name] += time.perf_counter() - t0


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_720p(path: Path, count: int) -> None:
    with VideoReader(sample_clip()) as reader:
        src = [f.image for f in reader]
        like = dataclasses.replace(reader.info, width=1280, height=720)
    step = round(1 / (like.fps * like.time_base))  # pts per frame
    with VideoWriter(path, like, mode="lossy", crf=18, copy_audio=False) as writer:
        for i in range(count):
            writer.write(cv2.resize(src[i % len(src)], (1280, 720), interpolation=cv2.INTER_CUBIC), i * step)


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--long", type=int, default=600, help="frames of the memory run (0 = skip)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    print(f"device {args.device}, {os.cpu_count()} CPUs, torch {torch.__version__}, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg = config.load(None, ["loss.vgg_weights=random"])
        torch.manual_seed(0)
        (tmp / "ckpt").mkdir()
        write_model(tmp / "ckpt", build_generator(cfg.model), cfg, 0)  # random weights: speed only
        clip = tmp / "clip720.mp4"
        make_720p(clip, args.frames)
        instrument()
        video = app.VideoOptions("lossy", 18)
        t0 = time.perf_counter()
        app.anonymize_video(clip, tmp / "masked.mp4", frames_mod.AnonymizeOptions(), video, progress=False)
        report("anonymize 1280x720", args.frames, time.perf_counter() - t0)
        inpainter = Inpainter(tmp / "ckpt", device=args.device)
        t0 = time.perf_counter()
        app.inpaint_video(tmp / "masked.mp4", tmp / "out.mp4", inpainter, None, app.LandmarkControl(), video, False)
        report(f"inpaint 1280x720 (G paper widths, {args.device})", args.frames, time.perf_counter() - t0)
        if args.long:
            long_clip = tmp / "long.mp4"
            make_720p(long_clip, args.long)
            app.anonymize_video(long_clip, tmp / "long_masked.mp4", frames_mod.AnonymizeOptions(), video, False)
            samples = []
            original = Inpainter.inpaint

            def sampling(self, items):
                samples.append(rss_mb())
                return original(self, items)

            Inpainter.inpaint = sampling
            app.inpaint_video(tmp / "long_masked.mp4", tmp / "long_out.mp4", inpainter, None,
                              app.LandmarkControl(), video, False)
            print(f"\nRSS during a {args.long}-frame inpaint (MB, every 100 frames): "
                  + ", ".join(f"{s:.0f}" for s in samples[::100]))


if __name__ == "__main__":
    main()
