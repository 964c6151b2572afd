"""Run folders: numbered runs, step checkpoints written atomically, ``best/``, pruning and resuming.

A run is ``runs/00003-si_lm/`` with ``config.yaml``, ``tb/``, ``samples/`` and ``checkpoints/step-0010000/``.
A step checkpoint is the saved-model format of :mod:`stngan.checkpoint` plus ``train.safetensors`` and
``state.pt``. It is written under a temporary name and renamed, so a crash never leaves a half checkpoint;
``checkpoints/best/`` holds hard links to the best checkpoint's files.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from torch import nn

from stngan.checkpoint import list_checkpoints, load_strict, save_tensors, state_dict, unprefixed, write_model
from stngan.config import ExperimentConfig


def new_run_dir(out_dir: str | Path, name: str) -> Path:
    """Next numbered run folder, e.g. runs/00003-si_lm (stylegan3 style)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name[:5]) for p in out.iterdir() if p.is_dir() and p.name[:5].isdigit()]
    run = out / f"{max(numbers, default=-1) + 1:05d}-{name}"
    run.mkdir()
    return run


def _prefixed(prefix: str, module: nn.Module | None) -> dict[str, torch.Tensor]:
    return {} if module is None else {f"{prefix}.{k}": v for k, v in state_dict(module).items()}


def save_checkpoint(run_dir: Path, step: int, cfg: ExperimentConfig, g: nn.Module, g_ema: nn.Module,
                    d: nn.Module | None, state: dict[str, Any]) -> Path:
    ckpt_root = run_dir / "checkpoints"
    ckpt_root.mkdir(exist_ok=True)
    final = ckpt_root / f"step-{step:07d}"
    tmp = ckpt_root / f".tmp-step-{step:07d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    write_model(tmp, g_ema, cfg, step)
    save_tensors({**_prefixed("G", g), **_prefixed("D", d)}, tmp / "train.safetensors")
    torch.save(state, tmp / "state.pt")
    for f in tmp.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return final


def mark_best(run_dir: Path, ckpt: Path) -> None:
    """checkpoints/best/ ← hard links to `ckpt`'s files, replaced atomically."""
    root = run_dir / "checkpoints"
    tmp = root / ".tmp-best"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for f in ckpt.iterdir():
        os.link(f, tmp / f.name)
    old = root / ".old-best"
    shutil.rmtree(old, ignore_errors=True)
    if (root / "best").exists():
        os.replace(root / "best", old)
    os.replace(tmp, root / "best")
    shutil.rmtree(old, ignore_errors=True)


def prune(run_dir: Path, keep_last: int) -> None:
    """Delete all but the newest `keep_last` step checkpoints (0 keeps all; best/ holds its own links)."""
    for p in list_checkpoints(run_dir)[:-keep_last] if keep_last > 0 else []:
        shutil.rmtree(p)


def load_training(ckpt: Path, g: nn.Module, g_ema: nn.Module, d: nn.Module | None) -> dict[str, Any]:
    """Restore G, EMA G and D in place; return the training state (optimisers, step, RNG, best)."""
    tensors = load_file(str(ckpt / "train.safetensors"))
    load_strict(g, unprefixed(tensors, "G"), ckpt / "train.safetensors")
    if d is not None:
        load_strict(d, unprefixed(tensors, "D"), ckpt / "train.safetensors")
    load_strict(g_ema, load_file(str(ckpt / "model.safetensors")), ckpt / "model.safetensors")
    return torch.load(ckpt / "state.pt", map_location="cpu", weights_only=True)
