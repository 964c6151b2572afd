"""Run folders and checkpoints.

A checkpoint is a directory ``checkpoints/step-0010000/`` holding
- ``model.safetensors`` + ``config.json``: the EMA generator and the resolved experiment config; this is all
  inference needs (diffusers style: no code, no pickle);
- ``train.safetensors``: raw G and D weights (prefixed ``G.`` / ``D.``) for resuming;
- ``state.pt``: optimiser states, step, RNG states, best metric; tensors and plain containers only, so it
  loads with ``torch.load(weights_only=True)``.
The directory is written under a temporary name and renamed, so a crash never leaves a half checkpoint.
``checkpoints/best/`` holds hard links to the best checkpoint's files.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from stngan import config as config_mod
from stngan.config import ExperimentConfig

FORMAT = "stngan-checkpoint"
FORMAT_VERSION = 1
_STEP_DIR = re.compile(r"^step-(\d{7,})$")


class CheckpointError(ValueError):
    """A checkpoint that is missing, of another format, or of the wrong kind for the command."""


def new_run_dir(out_dir: str | Path, name: str) -> Path:
    """Next numbered run folder, e.g. runs/00003-si_lm (stylegan3 style)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name[:5]) for p in out.iterdir() if p.is_dir() and p.name[:5].isdigit()]
    run = out / f"{max(numbers, default=-1) + 1:05d}-{name}"
    run.mkdir()
    return run


def _state_dict(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}


def _prefixed(prefix: str, module: nn.Module | None) -> dict[str, torch.Tensor]:
    return {} if module is None else {f"{prefix}.{k}": v for k, v in _state_dict(module).items()}


def unprefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors of one module ("G" or "D") of train.safetensors, keys without the prefix."""
    return {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def ema_weights(ckpt: Path) -> dict[str, torch.Tensor]:
    """The EMA generator weights of a checkpoint or export, as fp32 (exports may be fp16)."""
    return {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(ckpt / "model.safetensors")).items()}


def checkpoint_meta(cfg: ExperimentConfig, step: int) -> dict[str, Any]:
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "step": step, "experiment": cfg.to_dict()}


def write_model(path: Path, generator: nn.Module, cfg: ExperimentConfig, step: int) -> None:
    """model.safetensors + config.json into the directory `path` (which must exist)."""
    save_file(_state_dict(generator), str(path / "model.safetensors"),
              metadata={"format": FORMAT, "kind": cfg.model.kind})
    (path / "config.json").write_text(json.dumps(checkpoint_meta(cfg, step), indent=2, sort_keys=True))


def save_checkpoint(run_dir: Path, step: int, cfg: ExperimentConfig, g: nn.Module, g_ema: nn.Module,
                    d: nn.Module | None, state: dict[str, Any]) -> Path:
    ckpt_root = run_dir / "checkpoints"
    ckpt_root.mkdir(exist_ok=True)
    final = ckpt_root / f"step-{step:07d}"
    tmp = ckpt_root / f".tmp-step-{step:07d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    write_model(tmp, g_ema, cfg, step)
    save_file({**_prefixed("G", g), **_prefixed("D", d)}, str(tmp / "train.safetensors"))
    torch.save(state, tmp / "state.pt")
    for f in tmp.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return final


def list_checkpoints(run_dir: Path) -> list[Path]:
    root = run_dir / "checkpoints"
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if _STEP_DIR.match(p.name)), key=lambda p: p.name)


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
    """Delete all but the newest `keep_last` step checkpoints (best/ holds its own links)."""
    for p in list_checkpoints(run_dir)[:-keep_last] if keep_last > 0 else []:
        shutil.rmtree(p)


def resolve(path: str | Path) -> Path:
    """A checkpoint directory from: a checkpoint dir, a run dir (its latest checkpoint), or a config.json."""
    p = Path(path)
    if p.is_file() and p.name in ("config.json", "model.safetensors"):
        p = p.parent
    if p.is_dir() and (p / "config.json").is_file():
        return p
    if p.is_dir():
        ckpts = list_checkpoints(p)
        if ckpts:
            return ckpts[-1]
    raise CheckpointError(f"no stngan checkpoint at {path} (expected a directory with config.json and "
                          f"model.safetensors, or a run folder with checkpoints/)")


def read_meta(ckpt: Path) -> tuple[ExperimentConfig, int]:
    try:
        meta = json.loads((ckpt / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{ckpt / 'config.json'}: unreadable ({e})") from e
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{ckpt}: not an stngan checkpoint (format {meta.get('format')!r})")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{ckpt}: checkpoint format {meta['format_version']} is newer than this stngan")
    return config_mod.from_dict(meta["experiment"]), int(meta["step"])


def load_generator(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[nn.Module, ExperimentConfig]:
    """The EMA generator of a checkpoint, in eval mode, with its experiment config."""
    from stngan.models.build import build_generator

    ckpt = resolve(path)
    cfg, _ = read_meta(ckpt)
    g = build_generator(cfg.model)
    load_strict(g, load_file(str(ckpt / "model.safetensors"), device=str(map_location)), ckpt / "model.safetensors")
    return g.to(map_location).eval(), cfg


def load_strict(module: nn.Module, tensors: dict[str, torch.Tensor], source: Path) -> None:
    missing, unexpected = module.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise CheckpointError(f"{source} does not match the model its config describes "
                              f"(missing {len(missing)} tensors e.g. {missing[:2]}, unexpected {len(unexpected)} "
                              f"e.g. {unexpected[:2]})")


def load_training(ckpt: Path, g: nn.Module, g_ema: nn.Module, d: nn.Module | None) -> dict[str, Any]:
    """Restore G, EMA G and D in place; return the training state (optimisers, step, RNG, best)."""
    tensors = load_file(str(ckpt / "train.safetensors"))
    load_strict(g, unprefixed(tensors, "G"), ckpt / "train.safetensors")
    if d is not None:
        load_strict(d, unprefixed(tensors, "D"), ckpt / "train.safetensors")
    load_strict(g_ema, load_file(str(ckpt / "model.safetensors")), ckpt / "model.safetensors")
    return torch.load(ckpt / "state.pt", map_location="cpu", weights_only=True)


def export_model(path: str | Path, out_dir: str | Path, half: bool = True) -> Path:
    """Inference-only copy of a checkpoint: model.safetensors (EMA G, fp16 by default) + config.json."""
    ckpt = resolve(path)
    cfg, step = read_meta(ckpt)
    tensors = load_file(str(ckpt / "model.safetensors"))
    if half:
        tensors = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".model.safetensors.tmp"
    save_file(tensors, str(tmp), metadata={"format": FORMAT, "kind": cfg.model.kind, "dtype": "fp16" if half else "fp32"})
    os.replace(tmp, out / "model.safetensors")
    (out / "config.json").write_text(json.dumps(checkpoint_meta(cfg, step), indent=2, sort_keys=True))
    return out


def load_weights_from(ckpt: Path, g: nn.Module, g_ema: nn.Module, d: nn.Module | None) -> None:
    """Warm start (not a resume): G and EMA G from the checkpoint's EMA weights, D from its training
    weights if it has them; optimiser state and step start fresh."""
    ema = ema_weights(ckpt)
    load_strict(g, ema, ckpt / "model.safetensors")
    load_strict(g_ema, ema, ckpt / "model.safetensors")
    if d is not None and (ckpt / "train.safetensors").is_file():
        load_strict(d, unprefixed(load_file(str(ckpt / "train.safetensors")), "D"), ckpt / "train.safetensors")
