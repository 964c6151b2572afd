"""Input checks and conversions shared by the image metrics."""
from __future__ import annotations

import numpy as np
import torch


def to_unit_float(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(N, H, W, 3) uint8 array/tensor -> (N, 3, H, W) float64 tensor in [0, 1]; float input passes through."""
    t = torch.as_tensor(images)
    if t.dtype == torch.uint8:
        if t.dim() != 4 or t.shape[-1] != 3:
            raise ValueError(f"uint8 images must be (N, H, W, 3), got {tuple(t.shape)}")
        return t.permute(0, 3, 1, 2).to(torch.float64) / 255.0
    return t.to(torch.float64)


def check_images(x: torch.Tensor, name: str = "images") -> torch.Tensor:
    """Validate (N, C, H, W) floating images; returns them as float64."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or not x.is_floating_point():
        shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
        raise ValueError(f"{name} must be a float tensor (N, C, H, W), got {shape}")
    return x.to(torch.float64)


def check_pair(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate two image batches of equal shape (N, C, H, W); returns both as float64."""
    x, y = check_images(x, "x"), check_images(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    return x, y


def check_region(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Validate a (N, 1, H, W) mask for images ``like`` (N, C, H, W); returns it as float64 {0, 1}."""
    if mask.dim() != 4 or mask.shape[1] != 1 or mask.shape[0] != like.shape[0] or mask.shape[2:] != like.shape[2:]:
        raise ValueError(f"mask must be (N, 1, H, W) matching images {tuple(like.shape)}, got {tuple(mask.shape)}")
    return (mask > 0.5).to(torch.float64)
