"""MTCNN's three networks on eager torch vs ONNX Runtime (one thread each), side by side in one run.

Per network at the shapes a 1280×720 frame gives them (P-Net's largest pyramid level for 20-px faces, a batch
of 60 R-Net crops, 8 O-Net crops), then whole ``MTCNN.detect`` calls on 1280×720 frames made from the
bundled real sample (tests/data photos tiled on the sample's background, faces of 24-200 px): CPU ms per call
(``time.thread_time``, robust to other jobs), the speed-up, and the largest difference of the outputs / boxes.

Run: .venv/bin/python benchmarks/bench_mtcnn_runtime.py [--iters 20]
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from timing import median_time  # benchmarks/ is not a package: run from the repository root

from stngan.faces.image_io import load_image
from stngan.faces.mtcnn import MTCNN

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SHAPES = {"P-Net": (0, (1, 3, 432, 768)), "R-Net": (1, (60, 3, 24, 24)), "O-Net": (2, (8, 3, 48, 48))}


def cpu_ms(fn, iters: int) -> float:
    return 1000 * median_time(fn, iters, time.thread_time)


def frames() -> list[np.ndarray]:
    """1280×720 frames, each with the test photos pasted at several sizes."""
    photos = [load_image(p) for p in sorted(DATA.glob("*.jpg"))[:6]]
    out = []
    for k, side in enumerate((24, 48, 96, 200)):
        frame = np.full((720, 1280, 3), 90 + 20 * k, np.uint8)
        for i, photo in enumerate(photos):
            small = cv2.resize(photo, (side * 2, side * 2), interpolation=cv2.INTER_AREA)
            y, x = 40 + (i // 3) * 340, 40 + (i % 3) * 420
            frame[y:y + small.shape[0], x:x + small.shape[1]] = small[:720 - y, :1280 - x]
        out.append(frame)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iters", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(1)
    runtimes = {rt: MTCNN(20, runtime=rt) for rt in ("torch", "onnx")}
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f} at {time.strftime('%Y-%m-%d %H:%M')}; torch {torch.__version__}, one thread\n")
    print("| what | torch CPU ms | ONNX Runtime CPU ms | speed-up | largest difference |")
    print("|---|---|---|---|---|")
    with torch.inference_mode():
        for name, (k, shape) in SHAPES.items():
            x = torch.randn(*shape)
            ms = {rt: cpu_ms(lambda m=m: m.nets[k](x), args.iters) for rt, m in runtimes.items()}
            diff = max(float((a - b).abs().max()) for a, b in zip(runtimes["torch"].nets[k](x), runtimes["onnx"].nets[k](x)))
            print(f"| {name} {tuple(shape)} | {ms['torch']:.2f} | {ms['onnx']:.2f} | {ms['torch'] / ms['onnx']:.2f}× | "
                  f"{diff:.1e} |")
    for frame in frames():
        ms = {rt: cpu_ms(lambda m=m: m.detect(frame), max(3, args.iters // 4)) for rt, m in runtimes.items()}
        (b0, _, _), (b1, _, _) = (m.detect(frame) for m in runtimes.values())
        diff = f"{np.abs(b0 - b1).max():.1e} px" if b0.shape == b1.shape and len(b0) else f"{len(b0)} vs {len(b1)} faces"
        print(f"| MTCNN.detect, 1280×720, {len(b0)} faces | {ms['torch']:.1f} | {ms['onnx']:.1f} | "
              f"{ms['torch'] / ms['onnx']:.2f}× | {diff} |")


if __name__ == "__main__":
    main()
