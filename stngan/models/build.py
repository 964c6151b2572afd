"""Build the networks an experiment config describes, and load a saved generator (one place, used by
training, inference and evaluation)."""
from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from stngan.checkpoint import load_strict, read_meta, resolve
from stngan.config import ExperimentConfig, ModelConfig
from stngan.models.discriminator import DualDiscriminator, GlobalDiscriminator, LocalDiscriminator
from stngan.models.generator import Generator
from stngan.models.partialconv import PConvUNet
from stngan.models.temporal import TemporalDiscriminator, TemporalGenerator


def build_generator(cfg: ModelConfig) -> nn.Module:
    """The inpainting network of `cfg.kind`: SI generator, STN-wrapped generator, or PartialConv U-Net."""
    if cfg.kind == "partialconv":
        return PConvUNet(in_channels=3, layers=_pconv_layers(cfg.image_size))
    g = Generator(cond_channels=cfg.input_cond_channels, width=cfg.g_width, n_res=cfg.g_res_blocks)
    return TemporalGenerator(g, T=cfg.T, M=cfg.M) if cfg.kind == "stn" else g


def build_discriminator(cfg: ModelConfig) -> nn.Module | None:
    """Global + local PatchGAN critics (None for PartialConv, which has no adversary)."""
    if cfg.kind == "partialconv":
        return None
    cap = cfg.d_max_width or None
    d = DualDiscriminator(GlobalDiscriminator(width=cfg.d_width, n_layers=cfg.d_global_layers, max_width=cap),
                          LocalDiscriminator(width=cfg.d_width, n_layers=cfg.d_local_layers, crop=cfg.local_crop,
                                             max_width=cap))
    return TemporalDiscriminator(d, T=cfg.T, N=cfg.N) if cfg.kind == "stn" else d


def load_generator(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[nn.Module, ExperimentConfig]:
    """The EMA generator of a checkpoint, run folder or export, in eval mode, with its experiment config."""
    ckpt = resolve(path)
    cfg, _ = read_meta(ckpt)
    g = build_generator(cfg.model)
    load_strict(g, load_file(str(ckpt / "model.safetensors"), device=str(map_location)), ckpt / "model.safetensors")
    return g.to(map_location).eval(), cfg


def _pconv_layers(size: int) -> int:
    """Encoder depth taking size² down to 1² (7 at 128²)."""
    return size.bit_length() - 1
