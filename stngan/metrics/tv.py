"""Total variation of an image, the paper's "TV loss" column (Table 1)."""
from __future__ import annotations

import torch

from stngan.metrics.images import check_images


def total_variation(y: torch.Tensor, scale: float = 255.0) -> torch.Tensor:
    """Per-image anisotropic TV (N,) float64: ``scale * (mean |y[i, j+1] - y[i, j]| + mean |y[i+1, j] - y[i, j]|)``.

    y: (N, C, H, W) float in [0, 1]. Each mean runs over all channels and all neighbour pairs of its
    direction, so the value does not depend on the image size; ``scale = 255`` reports it in 8-bit grey
    levels (a 1-level horizontal ramp gives 1, 0/255 vertical stripes give 255).
    """
    y = check_images(y, "y")
    dx = (y[..., :, 1:] - y[..., :, :-1]).abs().mean(dim=(1, 2, 3))
    dy = (y[..., 1:, :] - y[..., :-1, :]).abs().mean(dim=(1, 2, 3))
    return scale * (dx + dy)
