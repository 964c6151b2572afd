"""What a method sees (MethodInput) and what the evaluation knows besides (EvalBatch)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class MethodInput:
    """A batch of B masked faces, everything a method may use (never the original x).

    x_hat (B, 3, S, S) float32 in [-1, 1], 0 under the mask; mask (B, 1, S, S) {0, 1}, 1 = inpaint;
    cond (B, 5, S, S) landmark maps (stngan.faces.condition); landmarks (B, 68, 2) float32 crop pixels;
    keys: the items' names (external outputs are matched by them); tracks (B,) int64: items of one track
    (video) arrive in frame order; transforms (B, 3) float64 (cx, cy, side) of each crop in its source frame.
    """

    keys: list[str]
    x_hat: torch.Tensor
    mask: torch.Tensor
    cond: torch.Tensor
    landmarks: np.ndarray
    tracks: np.ndarray
    transforms: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)

    def with_landmarks(self, landmarks: np.ndarray, cond: torch.Tensor) -> MethodInput:
        """The same inputs conditioned on other landmarks (landmark switching / perturbation, Fig. 6)."""
        return MethodInput(self.keys, self.x_hat, self.mask, cond, landmarks, self.tracks, self.transforms)


@dataclass(frozen=True)
class EvalBatch:
    """A MethodInput plus the ground truth x (B, 3, S, S) in [-1, 1] and per-item bookkeeping (B,) arrays:
    positions in the set, identity (-1 unknown), video (-1 still image) and frame index."""

    inputs: MethodInput
    x: torch.Tensor
    positions: np.ndarray
    identity: np.ndarray
    video: np.ndarray
    frame: np.ndarray


def to_uint8_images(t: torch.Tensor) -> np.ndarray:
    """(B, 3, S, S) float in [-1, 1] -> (B, S, S, 3) uint8, rounded (what saving the image would give)."""
    return t.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def from_uint8_images(a: np.ndarray) -> torch.Tensor:
    """(B, S, S, 3) uint8 -> (B, 3, S, S) float32 in [-1, 1]; exact inverse of :func:`to_uint8_images`."""
    return torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
