"""Exponential moving average of the generator's weights; the EMA copy is what inference uses."""
from __future__ import annotations

import copy

import torch
from torch import nn


def make_ema(model: nn.Module) -> nn.Module:
    ema = copy.deepcopy(model).eval()
    ema.requires_grad_(False)
    return ema


def ema_decay(decay: float, updates: int) -> float:
    """Decay after `updates` generator steps, ramped up as min(decay, (1+n)/(10+n)) so the average of a
    short run is not dominated by the random initial weights (0.999^700 is still 0.5)."""
    return min(decay, (1.0 + updates) / (10.0 + updates))


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema ← decay·ema + (1−decay)·model for parameters; buffers are copied."""
    for p_ema, p in zip(ema.parameters(), model.parameters()):
        p_ema.lerp_(p.detach(), 1.0 - decay)
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)
