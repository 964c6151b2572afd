"""Frame ↔ model crops for one face: crop, crop-space mask and condition, paste back inside the mask only.

The crop-space mask is the frame mask's circles carried into the crop and grown by CROP_MASK_MARGIN crop
pixels: crop pixels next to the mask edge mix masked (fill) frame pixels in through interpolation, so the
model repaints them too, and the bilinear samples that paste-back takes near the edge come from
inpainted pixels. Paste-back writes only pixels under the *frame* mask, so everything else in the frame
stays bit-exact.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from stngan.faces.condition import render_condition
from stngan.faces.crop import CropTransform
from stngan.faces.masks import MaskGeometry, rasterize

CROP_MASK_MARGIN = 1.5


@dataclass
class CropInput:
    """One face ready for the model; tensors are float32 (C, S, S)."""

    track: int
    transform: CropTransform
    x_hat: torch.Tensor  # (3, S, S) in [−1, 1], 0 under the mask
    mask: torch.Tensor  # (1, S, S) {0, 1}
    cond: torch.Tensor  # (C, S, S) landmark maps
    frame_mask: np.ndarray  # (H, W) uint8 mask in frame coordinates


def to_unit_range(img: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 → (3, H, W) float32 in [−1, 1]."""
    return torch.from_numpy(img).permute(2, 0, 1).float().div(127.5).sub(1.0)


def to_uint8(t: torch.Tensor) -> np.ndarray:
    """(3, H, W) float in [−1, 1] → (H, W, 3) uint8, rounded."""
    return t.float().clamp(-1, 1).add(1).mul(127.5).round().byte().permute(1, 2, 0).cpu().numpy()


def prepare_crop(frame: np.ndarray, track: int, transform: CropTransform, frame_geometry: MaskGeometry,
                 crop_landmarks: np.ndarray) -> CropInput:
    """frame (H, W, 3) uint8 (already masked or not: masked pixels are zeroed anyway) → model input."""
    size = transform.size
    crop_mask = rasterize(frame_geometry.transformed(transform).dilated(CROP_MASK_MARGIN), size, size)
    mask = torch.from_numpy(crop_mask).float()[None]
    x_hat = to_unit_range(transform.crop(frame)) * (1 - mask)
    cond = torch.from_numpy(render_condition(crop_landmarks, size=size))
    frame_mask = rasterize(frame_geometry, frame.shape[0], frame.shape[1])
    return CropInput(track, transform, x_hat, mask, cond, frame_mask)


def paste(frame: np.ndarray, item: CropInput, y: torch.Tensor) -> np.ndarray:
    """Write the model output y (3, S, S) into the frame under the frame mask only."""
    return item.transform.paste(frame, to_uint8(y), item.frame_mask)
