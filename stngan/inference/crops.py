"""Frame ↔ model crops for one face: crop, crop-space mask and condition, paste back inside the mask only.

The crop-space mask is the frame mask's circles carried into the crop and grown by CROP_MASK_MARGIN crop
pixels: crop pixels next to the mask edge mix masked (fill) frame pixels in through interpolation, so the
model repaints them too, and the bilinear samples that paste-back takes near the edge come from
inpainted pixels. Paste-back writes only pixels under the *frame* mask, so everything else in the frame
stays bit-exact.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from stngan.faces.condition import render_condition
from stngan.inference.blend import poisson_blend
from stngan.faces.crop import CropTransform
from stngan.faces.masks import MaskGeometry, rasterize

CROP_MASK_MARGIN = 1.5
EDGE_BAND_PX = 8  # frame-resolution blend: width of the band along the mask edge that is re-matched


@dataclass
class CropInput:
    """One face ready for the model; tensors are float32 (C, S, S)."""

    track: int
    transform: CropTransform
    x_hat: torch.Tensor  # (3, S, S) in [−1, 1], 0 under the mask
    mask: torch.Tensor  # (1, S, S) {0, 1}
    cond: torch.Tensor  # (C, S, S) landmark maps
    frame_mask: np.ndarray  # (H, W) uint8 mask in frame coordinates
    landmarks: np.ndarray  # (68, 2) float64: the landmarks the condition shows, in crop pixels


def to_unit_range(img: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 → (3, H, W) float32 in [−1, 1]."""
    return torch.from_numpy(img).permute(2, 0, 1).float().div(127.5).sub(1.0)


def to_uint8(t: torch.Tensor) -> np.ndarray:
    """(3, H, W) float in [−1, 1] → (H, W, 3) uint8, rounded."""
    return t.float().clamp(-1, 1).add(1).mul(127.5).round().byte().permute(1, 2, 0).cpu().numpy()


def prepare_crop(frame: np.ndarray, track: int, transform: CropTransform, frame_geometry: MaskGeometry,
                 crop_landmarks: np.ndarray, margin: float = CROP_MASK_MARGIN) -> CropInput:
    """frame (H, W, 3) uint8 (already masked or not: masked pixels are zeroed anyway) → model input.
    ``margin``: crop pixels the crop mask grows past the frame mask (0 for a pixel-aligned crop, where no
    interpolation mixes masked pixels into visible ones)."""
    size = transform.size
    crop_mask = rasterize(frame_geometry.transformed(transform).dilated(margin), size, size)
    mask = torch.from_numpy(crop_mask).float()[None]
    x_hat = to_unit_range(transform.crop(frame)) * (1 - mask)
    cond = torch.from_numpy(render_condition(crop_landmarks, size=size))
    frame_mask = rasterize(frame_geometry, frame.shape[0], frame.shape[1])
    return CropInput(track, transform, x_hat, mask, cond, frame_mask, np.asarray(crop_landmarks, dtype=np.float64))


def paste(frame: np.ndarray, item: CropInput, y: torch.Tensor, blend: str = "none") -> np.ndarray:
    """Write the model output y (3, S, S) into the frame under the frame mask only; ``blend="poisson"``
    then matches the pasted fill to the visible pixels around the mask again at frame resolution."""
    out = item.transform.paste(frame, to_uint8(y), item.frame_mask)
    return blend_in_frame(out, item.frame_mask) if blend == "poisson" else out


def blend_in_frame(pasted: np.ndarray, frame_mask: np.ndarray) -> np.ndarray:
    """The frame-resolution pass of the Poisson blend (:mod:`stngan.inference.blend`) over the mask's
    bounding box: the crop-level pass matched the fill's colour to the skin at crop resolution, but a face
    larger than the crop is upsampled, and the crop mask's margin lies a few frame pixels outside the frame
    mask, so the edge itself is matched here, in a band EDGE_BAND_PX wide (the fill deeper inside is kept:
    the correction decays within a few pixels, and a thin band converges in a few dozen iterations).
    Pixels outside the mask are returned unchanged."""
    rows, cols = np.nonzero(frame_mask.any(axis=1))[0], np.nonzero(frame_mask.any(axis=0))[0]
    if rows.size == 0:
        return pasted
    h, w = frame_mask.shape
    y0, y1 = max(rows[0] - 1, 0), min(rows[-1] + 2, h)
    x0, x1 = max(cols[0] - 1, 0), min(cols[-1] + 2, w)
    window = pasted[y0:y1, x0:x1]
    inside = frame_mask[y0:y1, x0:x1].astype(np.uint8)
    depth = cv2.distanceTransform(np.pad(inside, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]  # px to the nearest visible one
    band = (inside > 0) & (depth <= EDGE_BAND_PX)
    img = to_unit_range(np.ascontiguousarray(window))[None]
    as_mask = lambda a: torch.from_numpy(a.astype(np.float32))[None, None]  # noqa: E731
    blended = to_uint8(poisson_blend(img, img, as_mask(band), keep=as_mask((inside > 0) & ~band))[0])
    out = pasted.copy()
    out[y0:y1, x0:x1] = np.where(band[..., None], blended, window)
    return out
