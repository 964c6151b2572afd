"""Face pipeline cost per 640×480 frame: HOG (upsample 0/1) and CNN detection, 68 landmarks, condition maps.

Run: .venv/bin/python benchmarks/bench_faces.py [--cnn]
Prints CPU and wall milliseconds per frame side by side (a real face from skimage's astronaut, ~90 px).
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import skimage.data

from stngan.faces.condition import render_condition
from stngan.faces.crop import CropTransform
from stngan.faces.detect import FaceDetector
from stngan.faces.landmarks import LandmarkPredictor


def frame_640x480() -> np.ndarray:
    face = skimage.data.astronaut()[40:240, 130:330]  # 200 px around the face
    frame = np.full((480, 640, 3), 90, dtype=np.uint8)
    frame[140:340, 220:420] = face
    return frame


def timed(fn, repeat: int) -> tuple[float, float]:
    fn()
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - w0) / repeat * 1e3, (time.process_time() - c0) / repeat * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cnn", action="store_true", help="also time dlib's CNN detector (seconds per frame on CPU)")
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    frame = frame_640x480()
    predictor = LandmarkPredictor()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"{'stage':<32}{'wall ms':>10}{'cpu ms':>10}")
    kinds = [("hog", 0), ("hog", 1)] + ([("cnn", 0)] if args.cnn else [])
    for kind, up in kinds:
        det = FaceDetector(kind, up)
        boxes = det.detect(frame)
        assert boxes, f"{kind} found no face"
        wall, cpu = timed(lambda: [predictor.predict(frame, b) for b in det.detect(frame)],
                          args.repeat if kind == "hog" else 1)
        print(f"{f'{kind} up{up} + 68 landmarks':<32}{wall:>10.1f}{cpu:>10.1f}")
    box = FaceDetector("hog", 1).detect(frame)[0]
    lm = predictor.predict(frame, box)
    wall, cpu = timed(lambda: predictor.predict(frame, box), 50)
    print(f"{'68 landmarks alone':<32}{wall:>10.2f}{cpu:>10.2f}")
    crop_lm = CropTransform.from_box(box).to_crop(lm)
    wall, cpu = timed(lambda: render_condition(crop_lm), 50)
    print(f"{'condition maps 5×128²':<32}{wall:>10.2f}{cpu:>10.2f}")


if __name__ == "__main__":
    main()
