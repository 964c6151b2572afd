"""STN video inference cost, side by side on the same frames (paper widths, 128² crops, one face track).

- SI per frame: the spatial generator on each frame.
- STN naive: each frame recomputes its whole T-frame window (T full generator passes per output).
- STN streaming: per-track cache of the previous T−1 frames' features (one head pass + R blocks per frame).

Goals (issue): streaming ≥ 2.5× naive at T = 3; streaming cost ≤ 1.3× SI.
Run: .venv/bin/python benchmarks/bench_stn.py [--frames 12] [--T 3] [--device cpu]
"""
from __future__ import annotations

import argparse
import os
import time

import torch

from stngan.models.generator import Generator
from stngan.models.temporal import TemporalGenerator, pad_window_start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--T", type=int, default=3)
    ap.add_argument("--M", type=int, default=1)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    torch.manual_seed(0)
    dev = torch.device(args.device)
    stn = TemporalGenerator(Generator(5, width=args.width), T=args.T, M=args.M).to(dev).eval()
    for block in stn.blocks:  # random, non-zero temporal blocks: the cost does not depend on the values
        torch.nn.init.normal_(block.expand.weight, std=0.02)
    n = args.frames
    x = torch.rand(n, 3, 128, 128, device=dev) * 2 - 1
    mask = torch.zeros(n, 1, 128, 128, device=dev)
    mask[:, :, 40:100, 30:100] = 1
    cond = torch.rand(n, 5, 128, 128, device=dev)
    x_hat = x * (1 - mask)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def si():
        for i in range(n):
            stn.spatial(x_hat[i:i + 1], mask[i:i + 1], cond[i:i + 1])

    windows = [pad_window_start(t, args.T) for t in (x_hat, mask, cond)]

    def naive():
        for i in range(n):
            stn(windows[0][i:i + 1], windows[1][i:i + 1], windows[2][i:i + 1])

    def streaming():
        state: dict = {}
        for i in range(n):
            stn.stream_step([0], x_hat[i:i + 1], mask[i:i + 1], cond[i:i + 1], state)

    results = {}
    with torch.inference_mode():
        for name, fn in (("SI per frame", si), ("STN naive window", naive), ("STN streaming", streaming)):
            fn()  # warm-up
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            results[name] = n / (time.perf_counter() - t0)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU x{os.cpu_count()}"
    print(f"device {name}, torch {torch.__version__}, G width {args.width}, T={args.T}, M={args.M}, {n} frames, "
          f"load {os.getloadavg()[0]:.1f}")
    for k, v in results.items():
        print(f"{k:<20} {v:8.2f} fps")
    si_fps, naive_fps, stream_fps = results.values()
    print(f"streaming / naive speed: {stream_fps / naive_fps:.2f}x   (goal >= 2.5x)")
    print(f"streaming cost / SI cost: {si_fps / stream_fps:.2f}x  (goal <= 1.3x)")


if __name__ == "__main__":
    main()
