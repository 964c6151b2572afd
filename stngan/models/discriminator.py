"""PatchGAN critics (paper 3.1): global on the whole image, local on the masked region, and their pair.

StarGAN layout: 4×4 stride-2 convs with LeakyReLU(0.01), no normalisation (WGAN-GP needs per-sample
gradients, which batch-coupled norms would break), channel width doubling each layer, then a 3×3 conv
to a 1-channel patch map. Each critic keeps its layers in one flat ``self.layers`` list with
``run(h, start, stop)`` so the temporal model (paper 3.2) can insert 3D residual blocks after the first
N layers: ``h = d.prepare(img, mask)`` gives the input of ``layers[0]``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from stngan.models.blocks import ConvLReLU, LayerStack
from stngan.models.shapes import check_image, check_mask


class PatchCritic(LayerStack):
    """n_layers stride-2 blocks then a 3×3 conv: (B, 3, S, S) → (B, 1, S/2^n, S/2^n).

    Channels double each layer (StarGAN, uncapped: 2048 at the sixth layer of width 64); `max_width`
    caps them, which the CPU-trained demo model uses to keep the critic affordable.
    """

    def __init__(self, width: int, n_layers: int, max_width: int | None = None) -> None:
        super().__init__()
        cap = max_width or width * 2 ** n_layers
        widths = [3] + [min(width * 2**i, cap) for i in range(n_layers)]
        layers: list[nn.Module] = [ConvLReLU(c_in, c_out) for c_in, c_out in zip(widths[:-1], widths[1:])]
        layers.append(nn.Conv2d(widths[-1], 1, 3, 1, 1, bias=False))
        self.layers = nn.ModuleList(layers)
        self.channels = widths + [1]

    def prepare(self, img: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The tensor ``layers[0]`` sees; overridden by critics that look at part of the image."""
        return img

    def forward(self, img: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """img (B,3,H,W) in [−1,1], mask (B,1,H,W) 1 = inpainted → patch scores (B,1,h,w)."""
        check_image(img)
        check_mask(mask, img)
        return self.run(self.prepare(img, mask), 0, len(self.layers))


class GlobalDiscriminator(PatchCritic):
    """Critic on the whole image; six layers take 128² to a 2×2 patch map. The mask is not used."""

    def __init__(self, width: int = 64, n_layers: int = 6, max_width: int | None = None) -> None:
        super().__init__(width, n_layers, max_width)


def mask_boxes(mask: torch.Tensor, margin: int = 8) -> torch.Tensor:
    """Square crop boxes around the inpainted region: mask (B,1,H,W) → long (B, 3) rows [top, left, side].

    Per sample: bounding box of mask > 0.5, grown by `margin` px on each side, widened to a square about
    its centre, side capped at min(H, W), then shifted (not shrunk) to lie inside the image. It contains
    the whole mask whenever the mask fits in a min(H, W) square (always on a square image). An empty
    mask gives the centred min(H, W) square.
    """
    b, _, h, w = mask.shape
    hole = mask[:, 0] > 0.5
    rows, cols = hole.any(dim=2), hole.any(dim=1)  # (B, H), (B, W)
    empty = ~rows.any(dim=1)

    def extent(occupied: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.arange(n, device=mask.device)
        first = torch.where(occupied, idx, n).amin(dim=1)
        last = torch.where(occupied, idx, -1).amax(dim=1)
        return first, last + 1

    top, bottom = extent(rows, h)
    left, right = extent(cols, w)
    limit = min(h, w)
    side = (torch.maximum(bottom - top, right - left) + 2 * margin).clamp(max=limit)
    side = torch.where(empty, torch.full_like(side, limit), side)
    centre2_y = torch.where(empty, torch.full_like(top, h), top + bottom)  # twice the centre
    centre2_x = torch.where(empty, torch.full_like(left, w), left + right)
    y0 = torch.minimum(torch.div(centre2_y - side, 2, rounding_mode="floor").clamp(min=0), h - side)
    x0 = torch.minimum(torch.div(centre2_x - side, 2, rounding_mode="floor").clamp(min=0), w - side)
    return torch.stack([y0, x0, side], dim=1)


def crop_boxes(img: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Resample square boxes [top, left, side] of img (B,C,H,W) to (B,C,size,size).

    Bilinear ``grid_sample`` (align_corners=False: pixel i spans [i, i+1)), differentiable w.r.t. img;
    a box with side == size reproduces the pixels exactly. When side < size (upsampling) the outermost
    samples also weigh the pixel just outside the box, so gradients reach a 1-px rim around it.
    """
    b, c, h, w = img.shape
    top, left, side = boxes.to(device=img.device, dtype=torch.float32).unbind(dim=1)
    zero = torch.zeros_like(side)
    theta = torch.stack([
        torch.stack([side / w, zero, (2 * left + side) / w - 1], dim=1),
        torch.stack([zero, side / h, (2 * top + side) / h - 1], dim=1),
    ], dim=1)  # (B, 2, 3): output [-1, 1] → input normalised coordinates
    grid = F.affine_grid(theta, [b, c, size, size], align_corners=False)
    return F.grid_sample(img, grid.to(img.dtype), mode="bilinear", padding_mode="border", align_corners=False)


class LocalDiscriminator(PatchCritic):
    """Critic on the region around the mask, resampled to crop × crop; five layers take 64² to 2×2.

    The region is ``mask_boxes(mask, margin)``: the mask's bounding box + 8 px, made square and kept
    inside the image (see there). It is a function of the mask only, so real, fake and the gradient-
    penalty interpolates of one sample are cropped identically; the box itself carries no gradient,
    the crop (bilinear grid_sample) is differentiable w.r.t. the image. Resampling to a fixed size
    (instead of a fixed-size crop) keeps the whole masked region in view whatever the face scale.
    """

    def __init__(self, width: int = 64, n_layers: int = 5, crop: int = 64, margin: int = 8,
                 max_width: int | None = None) -> None:
        super().__init__(width, n_layers, max_width)
        self.crop = crop
        self.margin = margin

    def prepare(self, img: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """img (B,3,H,W), mask (B,1,H,W) → crop (B,3,crop,crop)."""
        return crop_boxes(img, mask_boxes(mask, self.margin), self.crop)


class DualDiscriminator(nn.Module):
    """Global and local critics whose flattened patch maps are concatenated (paper 3.1)."""

    def __init__(self, global_d: GlobalDiscriminator | None = None, local_d: LocalDiscriminator | None = None) -> None:
        super().__init__()
        self.global_d = global_d if global_d is not None else GlobalDiscriminator()
        self.local_d = local_d if local_d is not None else LocalDiscriminator()

    def forward(self, img: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """img (B,3,H,W), mask (B,1,H,W) → (B, P_global + P_local); at 128² and paper widths (B, 4 + 4)."""
        return torch.cat([self.global_d(img, mask).flatten(1), self.local_d(img, mask).flatten(1)], dim=1)
