"""Build the networks an experiment config describes (one place, used by training and inference)."""
from __future__ import annotations

from torch import nn

from stngan.config import ModelConfig
from stngan.models.discriminator import DualDiscriminator, GlobalDiscriminator, LocalDiscriminator
from stngan.models.generator import Generator
from stngan.models.partialconv import PConvUNet


def build_generator(cfg: ModelConfig) -> nn.Module:
    """The inpainting network of `cfg.kind`: SI generator, STN-wrapped generator, or PartialConv U-Net."""
    if cfg.kind == "partialconv":
        return PConvUNet(in_channels=3, layers=_pconv_layers(cfg.image_size))
    g = Generator(cond_channels=cfg.input_cond_channels, width=cfg.g_width, n_res=cfg.g_res_blocks)
    if cfg.kind == "stn":
        from stngan.models.temporal import TemporalGenerator

        return TemporalGenerator(g, T=cfg.T, M=cfg.M)
    return g


def build_discriminator(cfg: ModelConfig) -> nn.Module | None:
    """Global + local PatchGAN critics (None for PartialConv, which has no adversary)."""
    if cfg.kind == "partialconv":
        return None
    cap = cfg.d_max_width or None
    d = DualDiscriminator(GlobalDiscriminator(width=cfg.d_width, n_layers=cfg.d_global_layers, max_width=cap),
                          LocalDiscriminator(width=cfg.d_width, n_layers=cfg.d_local_layers, crop=cfg.local_crop,
                                             max_width=cap))
    if cfg.kind == "stn":
        from stngan.models.temporal import TemporalDiscriminator

        return TemporalDiscriminator(d, T=cfg.T, N=cfg.N)
    return d


def _pconv_layers(size: int) -> int:
    """Encoder depth taking size² down to 1² (7 at 128²)."""
    return size.bit_length() - 1
