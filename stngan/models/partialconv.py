"""PartialConv baseline (Liu et al., ECCV 2018): partial convolution and its U-Net, sized for 128² input."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from stngan.models.shapes import check_image, check_mask


class PartialConv2d(nn.Conv2d):
    """x' = W·(X⊙M)·sum(1)/sum(M) + b where sum(M) > 0, else 0; new mask = 1 where sum(M) > 0.

    Here M is Liu's *valid* mask (1 = known pixel). forward(x (B,C_in,H,W), valid (B,1|C_in,H,W)) →
    (out (B,C_out,H',W'), new_valid (B,1,H',W')). A 1-channel mask is shared by all input channels
    (sum(1) = k·k); a C_in-channel mask is summed over channels too (sum(1) = C_in·k·k). The bias is
    added after the renormalisation, so it is not rescaled. Zero padding counts as hole (Liu et al.'s
    padding scheme), so border outputs are renormalised even under an all-valid mask. Only groups=1.
    """

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        if valid.shape[1] not in (1, self.in_channels) or valid.shape[0] != x.shape[0] \
                or valid.shape[2:] != x.shape[2:]:
            raise ValueError(f"mask must be (B, 1 or {self.in_channels}, H, W) like x {tuple(x.shape)}, "
                             f"got {tuple(valid.shape)}")
        if self.groups != 1:
            raise ValueError("PartialConv2d supports groups=1 only")
        # counts up to C_in·k·k are not exact in bf16/fp16, so the mask arithmetic stays fp32 under autocast
        with torch.no_grad(), torch.autocast(x.device.type, enabled=False):
            ones = torch.ones(1, valid.shape[1], *self.kernel_size, device=x.device)
            count = F.conv2d(valid.float(), ones, None, self.stride, self.padding, self.dilation)
            new_valid = (count > 0).float()
            ratio = ones.numel() / count.clamp(min=1.0) * new_valid
        raw = F.conv2d(x * valid.to(x.dtype), self.weight, None, self.stride, self.padding, self.dilation)
        out = raw * ratio.to(raw.dtype)
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1, 1) * new_valid.to(raw.dtype)
        return out, new_valid.to(x.dtype)


class _PConvBlock(nn.Module):
    """PartialConv → optional BatchNorm → optional activation; passes the mask along."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, bn: bool,
                 act: nn.Module | None) -> None:
        super().__init__()
        self.conv = PartialConv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, bias=not bn)
        self.bn = nn.BatchNorm2d(out_channels) if bn else nn.Identity()
        self.act = act if act is not None else nn.Identity()

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, valid = self.conv(x, valid)
        return self.act(self.bn(h)), valid


class PConvUNet(nn.Module):
    """Liu et al.'s U-Net with `layers` encoder and `layers` decoder partial convs.

    Encoder: kernels 7,5,5,3,… stride 2, channels 64,128,256,512,… (BN except the first, ReLU);
    128² → 1² with 7 layers. Decoder: nearest ×2 upsampling, concat with the skip (features and masks),
    3×3 PConv, BN + LeakyReLU(0.2) except the last, which maps to `in_channels` with neither.
    forward(img (B,3,H,W), mask (B,1,H,W) 1 = HOLE) → raw prediction (B,3,H,W); compositing with the
    known pixels is done by the caller. H and W must be multiples of 2^layers.
    """

    def __init__(self, in_channels: int = 3, layers: int = 7) -> None:
        super().__init__()
        kernels = [7, 5, 5] + [3] * (layers - 3)
        widths = [64, 128, 256] + [512] * (layers - 3)
        enc_in = [in_channels] + widths[:-1]
        self.encoder = nn.ModuleList(
            _PConvBlock(c_in, c_out, k, 2, bn=i > 0, act=nn.ReLU(inplace=True))
            for i, (c_in, c_out, k) in enumerate(zip(enc_in, widths, kernels)))
        # decoder for level i (deepest first): level-i features (widths[i]) + that level's input as skip
        dec_specs = [(widths[i] + enc_in[i], widths[i - 1] if i > 0 else in_channels)
                     for i in range(layers - 1, -1, -1)]
        self.decoder = nn.ModuleList(
            _PConvBlock(c_in, c_out, 3, 1, bn=i < layers - 1, act=nn.LeakyReLU(0.2) if i < layers - 1 else None)
            for i, (c_in, c_out) in enumerate(dec_specs))
        self.depth = layers

    def forward(self, img: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        check_image(img)
        check_mask(mask, img)
        if img.shape[2] % 2**self.depth or img.shape[3] % 2**self.depth:
            raise ValueError(f"H and W must be multiples of {2**self.depth}, got {tuple(img.shape[2:])}")
        h, valid = img, 1.0 - mask.to(img.dtype)
        skips = []
        for block in self.encoder:
            skips.append((h, valid))
            h, valid = block(h, valid)
        for block in self.decoder:
            skip_h, skip_valid = skips.pop()
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            valid = F.interpolate(valid, scale_factor=2, mode="nearest")
            cat_valid = torch.cat([valid.expand(-1, h.shape[1], -1, -1),
                                   skip_valid.expand(-1, skip_h.shape[1], -1, -1)], dim=1)
            h, valid = block(torch.cat([h, skip_h], dim=1), cat_valid)
        return h
