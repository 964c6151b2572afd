"""Spatial inpainting generator (paper 3.1, StarGAN architecture) and the background hard copy (BGCP)."""
from __future__ import annotations

import torch
from torch import nn

from stngan.models.blocks import ConvINReLU, LayerStack, ResidualBlock, down_block, up_block
from stngan.models.shapes import check_cond, check_image, check_mask


class Generator(LayerStack):
    """G: cat(x_hat, mask, cond) → raw image in [−1, 1].

    Layers live in one flat ``self.layers`` list — stem (7×7), down1, down2, res1..resN, up1, up2, out
    (7×7 + tanh) — so the temporal model (paper 3.2) can run slices with ``run`` and insert 3D residual
    blocks before ``up_indices[-M:]`` without copying this class. At width 64, 6 residual blocks and
    5 condition channels it has 8.43 M parameters.
    """

    def __init__(self, cond_channels: int, width: int = 64, n_res: int = 6) -> None:
        super().__init__()
        self.cond_channels = cond_channels
        in_channels = 3 + 1 + cond_channels
        w = width
        layers: list[nn.Module] = [ConvINReLU(in_channels, w, 7, 1, 3), down_block(w, 2 * w), down_block(2 * w, 4 * w)]
        layers += [ResidualBlock(4 * w) for _ in range(n_res)]
        layers += [up_block(4 * w, 2 * w), up_block(2 * w, w),
                   nn.Sequential(nn.Conv2d(w, 3, 7, 1, 3, bias=False), nn.Tanh())]
        self.layers = nn.ModuleList(layers)
        self.up_indices: tuple[int, int] = (len(layers) - 3, len(layers) - 2)
        self.channels = [in_channels, w, 2 * w] + [4 * w] * n_res + [4 * w, 2 * w, w, 3]

    def forward(self, x_hat: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """x_hat (B,3,H,W) in [−1,1], mask (B,1,H,W) 1 = inpaint, cond (B,C_cond,H,W) or None → raw (B,3,H,W).

        H and W must be multiples of 4.
        """
        check_image(x_hat, "x_hat")
        check_mask(mask, x_hat)
        check_cond(cond, self.cond_channels, x_hat)
        if x_hat.shape[2] % 4 or x_hat.shape[3] % 4:
            raise ValueError(f"H and W must be multiples of 4, got {tuple(x_hat.shape[2:])}")
        parts = [x_hat, mask.to(x_hat.dtype)] + ([cond.to(x_hat.dtype)] if self.cond_channels else [])
        return self.run(torch.cat(parts, dim=1), 0, len(self.layers))


def background_copy(x_hat: torch.Tensor, mask: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
    """Paper's BGCP y = x_hat·(1−m) + raw·m for a binary mask (B,1,H,W); images (B,3,H,W).

    Implemented as a select on m > 0.5 so y equals x_hat bit for bit wherever m = 0 whatever raw holds
    (in the arithmetic form a NaN/inf in raw leaks out through 0·raw). Gradients reach raw only inside
    the mask.
    """
    check_image(x_hat, "x_hat")
    check_image(raw, "raw")
    check_mask(mask, x_hat)
    return torch.where(mask > 0.5, raw.to(x_hat.dtype), x_hat)
