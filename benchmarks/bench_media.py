"""Encode and decode speed of the media layer's three output flavours, side by side.

    python benchmarks/bench_media.py [--size 1280x720] [--frames 48] [--noise 2] [--lossy-preset veryfast]
                                     [--x264rgb-presets ultrafast veryfast]

Frames are skimage's astronaut panned across the picture (real texture and motion) with sensor-like
noise. Encoding goes through VideoWriter (RGB numpy in), decoding through VideoReader (RGB numpy out), so
colour conversion and copies are included. Reported: wall-clock fps, fps per CPU-second of this process (robust to other load on a
shared machine: multiply by the cores you have for an idle-machine estimate when the codec scales),
size per frame, and whether lossless output decoded bit-exactly.
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from skimage import data as skdata

from stngan.media import VideoInfo, VideoReader, VideoWriter


def panning_frames(width: int, height: int, count: int, noise: float) -> list[np.ndarray]:
    """The photo panning 4 px right and 2 px down per frame, plus fresh Gaussian "sensor" noise each frame
    (without it inter prediction is perfect and lossless H.264 looks unrealistically small)."""
    photo = np.tile(skdata.astronaut(), (2 + height // 512, 2 + width // 512, 1)).astype(np.float32)
    rng = np.random.default_rng(0)
    return [np.clip(photo[2 * i:2 * i + height, 4 * i:4 * i + width]
                    + rng.normal(0, noise, (height, width, 3)), 0, 255).round().astype(np.uint8)
            for i in range(count)]


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process incl. codec threads) of fn()."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench(frames: list[np.ndarray], path: Path, mode: str, codec: str, preset: str | None) -> dict:
    height, width = frames[0].shape[:2]
    info = VideoInfo(path=None, width=width, height=height, fps=Fraction(25), time_base=Fraction(1, 25),
                     codec="rawvideo", pix_fmt="rgb24", container="none", frame_count=len(frames), duration=None)

    def encode() -> None:
        with VideoWriter(path, info, mode, codec=codec, preset=preset) as writer:
            for image in frames:
                writer.write(image)

    decoded: list[bool] = []

    def decode() -> None:
        with VideoReader(path) as reader:
            decoded.extend(np.array_equal(f.image, frames[f.index]) for f in reader)

    enc_wall, enc_cpu = timed(encode)
    dec_wall, dec_cpu = timed(decode)
    n = len(frames)
    return {"enc_fps": n / enc_wall, "enc_fps_cpu": n / enc_cpu, "dec_fps": n / dec_wall,
            "dec_fps_cpu": n / dec_cpu, "kb_per_frame": path.stat().st_size / n / 1000,
            "exact": len(decoded) == n and all(decoded)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--noise", type=float, default=2.0, help="std of per-frame noise, 0..255 scale")
    ap.add_argument("--lossy-preset", default="veryfast", help="x264 preset of the lossy row (writer default)")
    ap.add_argument("--x264rgb-presets", nargs="+", default=["ultrafast", "veryfast"],
                    help="one libx264rgb qp 0 row per preset (the writer's default is ultrafast)")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    frames = panning_frames(width, height, args.frames, args.noise)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"PyAV {av.__version__} (FFmpeg {av.ffmpeg_version_info}), {platform.machine()}, "
          f"os.cpu_count()={os.cpu_count()}, load average {load:.1f}; {args.frames} frames {width}x{height}, "
          f"noise {args.noise}")
    rows = [("lossless", "ffv1", ".mkv", None)]
    rows += [("lossless", "libx264rgb", ".mp4", p) for p in args.x264rgb_presets]
    rows += [("lossy", "libx264", ".mp4", args.lossy_preset)]
    print(f"{'mode':9} {'codec':11} {'preset':9} {'enc fps':>8} {'/cpu-s':>7} {'dec fps':>8} {'/cpu-s':>7} "
          f"{'KB/frame':>9} exact")
    with tempfile.TemporaryDirectory() as tmp:
        for mode, codec, suffix, preset in rows:
            r = bench(frames, Path(tmp) / f"out{suffix}", mode, codec, preset)
            exact = ("yes" if r["exact"] else "NO") if mode == "lossless" else "n/a"
            print(f"{mode:9} {codec:11} {preset or '-':9} {r['enc_fps']:8.1f} {r['enc_fps_cpu']:7.1f} "
                  f"{r['dec_fps']:8.1f} {r['dec_fps_cpu']:7.1f} {r['kb_per_frame']:9.0f} {exact}")


if __name__ == "__main__":
    main()
