"""Generator throughput on one device: faces per second of the shipped (or any) SI generator, fp32 and bf16.

Made for a lent GPU, where only torch and safetensors can be counted on (no PyAV, dlib or TFLite there,
and no network to install them), so the whole one-pass benchmark (bench_onepass.py) cannot run on it: this
times G alone, on crops shaped as `stngan inpaint` makes them (x_hat, mask, landmark condition), random
content (speed does not depend on it). The card's name is printed with the figures.

Run: python3 benchmarks/bench_g_device.py [--model PATH] [--device cuda] [--batches 1,16,64] [--seconds 5]
     (no venv needed: run from the repository root, where `stngan` imports)
"""
from __future__ import annotations

import argparse
import contextlib
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stngan.models.build import load_generator  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[1] / "stngan" / "assets" / "models" / "si_lm"


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def faces_per_second(g, batch: int, size: int, cond_channels: int, device: torch.device, dtype: torch.dtype | None,
                     seconds: float) -> float:
    x = torch.rand(batch, 3, size, size, device=device) * 2 - 1
    mask = (torch.rand(batch, 1, size, size, device=device) > 0.7).float()
    cond = torch.rand(batch, cond_channels, size, size, device=device) if cond_channels else None
    autocast = torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()

    def step() -> None:
        with torch.inference_mode(), autocast:
            g(x * (1 - mask), mask, cond)

    for _ in range(3):  # warm-up: cuDNN picks its kernels
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return n * batch / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="checkpoint, run folder or export (default: the shipped si_lm)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batches", default="1,16,64")
    ap.add_argument("--seconds", type=float, default=5.0, help="timed seconds per row")
    args = ap.parse_args()
    device = torch.device(args.device)
    g, cfg = load_generator(args.model or SHIPPED, map_location=device)
    if cfg.model.kind not in ("si",):
        raise SystemExit(f"{cfg.model.kind} models stream per track; this times SI generators only")
    dtypes = {"fp32": None}
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        dtypes["bf16"] = torch.bfloat16
    print(f"G width {cfg.model.g_width}, {sum(p.numel() for p in g.parameters()) / 1e6:.2f} M parameters, "
          f"{cfg.model.image_size}² crops, on {device_name(device)} (torch {torch.__version__})\n")
    print("| batch | " + " | ".join(f"{k} faces/s" for k in dtypes) + " |")
    print("|---|" + "---|" * len(dtypes))
    for batch in (int(b) for b in args.batches.split(",")):
        row = [faces_per_second(g, batch, cfg.model.image_size, g.cond_channels, device, dt, args.seconds)
               for dt in dtypes.values()]
        print(f"| {batch} | " + " | ".join(f"{r:.0f}" for r in row) + " |")


if __name__ == "__main__":
    main()
