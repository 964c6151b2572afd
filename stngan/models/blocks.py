"""StarGAN building blocks (Choi et al. 2018), shared by the generator and the discriminators.

Convolutions carry no bias where an affine InstanceNorm follows (the norm's shift replaces it), as in
StarGAN. InstanceNorm keeps no running statistics, so train() and eval() compute the same function.
"""
from __future__ import annotations

import torch
from torch import nn


class ConvINReLU(nn.Sequential):
    """conv (or transposed conv) → InstanceNorm(affine) → ReLU. (B, C_in, H, W) → (B, C_out, H', W')."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int,
                 transpose: bool = False) -> None:
        conv_cls = nn.ConvTranspose2d if transpose else nn.Conv2d
        super().__init__(
            conv_cls(in_channels, out_channels, kernel_size, stride, padding, bias=False),
            nn.InstanceNorm2d(out_channels, affine=True),
            nn.ReLU(inplace=True),
        )


def down_block(in_channels: int, out_channels: int) -> ConvINReLU:
    """4×4 stride-2 conv: (B, C_in, H, W) → (B, C_out, H/2, W/2)."""
    return ConvINReLU(in_channels, out_channels, 4, 2, 1)


def up_block(in_channels: int, out_channels: int) -> ConvINReLU:
    """4×4 stride-2 transposed conv: (B, C_in, H, W) → (B, C_out, 2H, 2W)."""
    return ConvINReLU(in_channels, out_channels, 4, 2, 1, transpose=True)


class ResidualBlock(nn.Module):
    """x + (conv3×3-IN-ReLU-conv3×3-IN)(x); shape preserving (B, C, H, W)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvINReLU(channels, channels, 3, 1, 1),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ConvLReLU(nn.Sequential):
    """Discriminator block: 4×4 stride-2 conv (with bias, no norm) → LeakyReLU(0.01); halves H and W."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(nn.Conv2d(in_channels, out_channels, 4, 2, 1), nn.LeakyReLU(0.01))


class LayerStack(nn.Module):
    """A network kept as one flat ``layers`` list so the temporal model (paper 3.2) can run slices of it and
    insert blocks between them. Subclasses set ``layers`` and ``channels`` (channels entering each layer,
    plus the output channels as the last entry)."""

    layers: nn.ModuleList
    channels: list[int]

    def channels_before(self, index: int) -> int:
        """Feature channels entering ``layers[index]`` (index == len(layers) gives the output channels)."""
        return self.channels[index]

    def run(self, h: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        """Apply ``layers[start:stop]`` to the feature map h."""
        for layer in self.layers[start:stop]:
            h = layer(h)
        return h
