"""The saved-model format, shared by training, inference and evaluation (diffusers style: no code, no pickle).

A checkpoint or exported model is a directory holding
- ``model.safetensors`` + ``config.json``: the EMA generator and the resolved experiment config (``format``,
  ``format_version``, ``step``, ``experiment``); this is all inference needs;
- for training checkpoints also ``train.safetensors`` (raw G and D weights, prefixed ``G.`` / ``D.``) and
  ``state.pt`` (optimiser states, step, RNG states, best score; loaded with ``torch.load(weights_only=True)``),
  written by :mod:`stngan.training.run_folder`.
This module knows files and tensors only; building a network from a checkpoint is
:func:`stngan.models.build.load_generator`.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from stngan import config as config_mod
from stngan.config import ExperimentConfig
from stngan.errors import UserError

FORMAT = "stngan-checkpoint"
FORMAT_VERSION = 1
STEP_DIR = re.compile(r"^step-(\d{7,})$")
# config fields older checkpoints carry that the config no longer has (they meant nothing then either)
RETIRED_FIELDS = {"data": ("pad",)}


class CheckpointError(UserError, ValueError):
    """A checkpoint that is missing, of another format, or of the wrong kind for the command."""


def state_dict(module: nn.Module) -> dict[str, torch.Tensor]:
    """Contiguous CPU copies of a module's tensors, ready for safetensors."""
    return {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}


def unprefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors of one module ("G" or "D") of train.safetensors, keys without the prefix."""
    return {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def ema_weights(ckpt: Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """The EMA generator weights of a checkpoint or export, as fp32 (exports may be fp16)."""
    tensors = load_file(str(ckpt / "model.safetensors"), device=str(device))
    return {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}


def checkpoint_meta(cfg: ExperimentConfig, step: int) -> dict[str, Any]:
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "step": step, "experiment": cfg.to_dict()}


def save_tensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None) -> None:
    """safetensors' save_file, readable by every user like the rest of the folder (it writes mode 0600)."""
    save_file(tensors, str(path), metadata=metadata)
    os.chmod(path, 0o644)


def write_model(path: Path, generator: nn.Module, cfg: ExperimentConfig, step: int) -> None:
    """model.safetensors + config.json into the directory `path` (which must exist)."""
    save_tensors(state_dict(generator), path / "model.safetensors", {"format": FORMAT, "kind": cfg.model.kind})
    (path / "config.json").write_text(json.dumps(checkpoint_meta(cfg, step), indent=2, sort_keys=True))


def list_checkpoints(run_dir: Path) -> list[Path]:
    """A run folder's step checkpoints, oldest first."""
    root = run_dir / "checkpoints"
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if STEP_DIR.match(p.name)), key=lambda p: p.name)


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
    """The experiment config and step stored in a checkpoint's config.json."""
    try:
        meta = json.loads((ckpt / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{ckpt / 'config.json'}: unreadable ({e})") from e
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{ckpt}: not an stngan checkpoint (format {meta.get('format')!r})")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{ckpt}: checkpoint format {meta['format_version']} is newer than this stngan")
    experiment = meta["experiment"]
    for section, names in RETIRED_FIELDS.items():
        for name in names:
            experiment.get(section, {}).pop(name, None)
    return config_mod.from_dict(experiment), int(meta["step"])


def load_strict(module: nn.Module, tensors: dict[str, torch.Tensor], source: Path) -> None:
    """Load every tensor of `module` from `tensors`, or say which do not match."""
    missing, unexpected = module.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise CheckpointError(f"{source} does not match the model its config describes "
                              f"(missing {len(missing)} tensors e.g. {missing[:2]}, unexpected {len(unexpected)} "
                              f"e.g. {unexpected[:2]})")


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
    save_tensors(tensors, tmp, {"format": FORMAT, "kind": cfg.model.kind, "dtype": "fp16" if half else "fp32"})
    os.replace(tmp, out / "model.safetensors")
    (out / "config.json").write_text(json.dumps(checkpoint_meta(cfg, step), indent=2, sort_keys=True))
    return out
