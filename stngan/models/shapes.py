"""Shape checks at module boundaries; they raise ValueError (not assert) so they survive ``python -O``."""
from __future__ import annotations

import torch


def check_image(x: torch.Tensor, name: str = "image") -> None:
    """x must be (B, 3, H, W) floating point."""
    if x.dim() != 4 or x.shape[1] != 3 or not x.is_floating_point():
        raise ValueError(f"{name} must be a float (B, 3, H, W) tensor, got {x.dtype} {tuple(x.shape)}")


def check_mask(mask: torch.Tensor, like: torch.Tensor, name: str = "mask") -> None:
    """mask must be (B, 1, H, W) matching the batch and size of `like`."""
    b, _, h, w = like.shape
    if tuple(mask.shape) != (b, 1, h, w):
        raise ValueError(f"{name} must be {(b, 1, h, w)}, got {tuple(mask.shape)}")


def check_cond(cond: torch.Tensor | None, channels: int, like: torch.Tensor) -> None:
    """cond must be (B, channels, H, W), or None / 0-channel when channels == 0."""
    b, _, h, w = like.shape
    if cond is None:
        if channels:
            raise ValueError(f"cond with {channels} channels is required, got None")
        return
    if tuple(cond.shape) != (b, channels, h, w):
        raise ValueError(f"cond must be {(b, channels, h, w)}, got {tuple(cond.shape)}")


def as_frames(t: torch.Tensor) -> torch.Tensor:
    """(B, T, C, H, W) windows → (B·T, C, H, W) frames; (B, C, H, W) frames unchanged."""
    return t.flatten(0, 1) if t.dim() == 5 else t
