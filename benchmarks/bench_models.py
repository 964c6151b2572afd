"""Time the spatial model's networks: G fwd+bwd, dual D fwd+bwd (plain and a full WGAN-GP step), G fps fp32 vs bf16.

    python benchmarks/bench_models.py [--batch 16] [--size 128] [--iters 3] [--device cpu]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from contextlib import nullcontext
from typing import Callable

import torch

from stngan.losses import d_wgan_gp_loss
from stngan.models import DualDiscriminator, Generator, background_copy


def timed(fn: Callable[[], object], iters: int, warmup: int, device: torch.device) -> float:
    """Median seconds per call."""
    times = []
    for i in range(warmup + iters):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def native_bf16(device: torch.device) -> bool:
    """False on x86 CPUs without AVX512-BF16/AMX, where oneDNN emulates bf16 convs (tens of times slower)."""
    if device.type != "cpu":
        return True
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return True
    return "avx512_bf16" in flags or "amx_bf16" in flags


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    b, s = args.batch, args.size
    G = Generator(cond_channels=5).to(device)
    D = DualDiscriminator().to(device)
    real = torch.rand(b, 3, s, s, device=device) * 2 - 1
    mask = torch.zeros(b, 1, s, s, device=device)
    mask[..., s * 5 // 16: s * 11 // 16, s // 4: s * 3 // 4] = 1
    cond = torch.rand(b, 5, s, s, device=device)
    x_hat = real * (1 - mask)
    n_params = lambda m: sum(p.numel() for p in m.parameters()) / 1e6  # noqa: E731

    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, os.cpu_count()={os.cpu_count()}, "
          f"torch threads={torch.get_num_threads()}, device={device}")
    print(f"batch {b} at {s}x{s}; G {n_params(G):.2f} M params, D global {n_params(D.global_d):.2f} M + "
          f"local {n_params(D.local_d):.2f} M")

    def g_step() -> None:
        G.zero_grad(set_to_none=True)
        background_copy(x_hat, mask, G(x_hat, mask, cond)).mean().backward()

    def d_step() -> None:
        D.zero_grad(set_to_none=True)
        (D(real, mask).mean() - D(x_hat, mask).mean()).backward()

    def d_gp_step() -> None:
        D.zero_grad(set_to_none=True)
        d_wgan_gp_loss(D, real, x_hat, mask, generator=torch.Generator(device).manual_seed(0))[0].backward()

    def g_infer(dtype: torch.dtype | None) -> Callable[[], object]:
        ctx = (lambda: torch.autocast(device.type, dtype=dtype)) if dtype else nullcontext

        def run() -> object:
            with torch.inference_mode(), ctx():
                return G(x_hat, mask, cond)
        return run

    def report(name: str, sec: float, fps: bool = False) -> None:
        print(f"{name:40s} {sec * 1000:10.1f} ms/batch" + (f" {b / sec:8.2f} img/s" if fps else ""), flush=True)

    report("G forward+backward", timed(g_step, args.iters, args.warmup, device))
    report("Dual D forward+backward (real+fake)", timed(d_step, args.iters, args.warmup, device))
    report("Dual D WGAN-GP step (real+fake+GP)", timed(d_gp_step, args.iters, args.warmup, device))
    G.eval()
    report("G inference fp32", timed(g_infer(None), args.iters, args.warmup, device), fps=True)
    if native_bf16(device):
        report("G inference bf16 autocast", timed(g_infer(torch.bfloat16), args.iters, args.warmup, device), fps=True)
    else:
        print("note: this CPU has no native bf16 (no avx512_bf16/amx_bf16): bf16 is emulated; timing 1 call",
              flush=True)
        report("G inference bf16 autocast (emulated)", timed(g_infer(torch.bfloat16), 1, 0, device), fps=True)


if __name__ == "__main__":
    main()
