"""Image grids written during training: one row per sample, original | masked input | output."""
from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset, default_collate
from torchvision.utils import make_grid, save_image


SAMPLE_ROWS = 8  # faces in a sample grid, and per batch when held-out items are scored


def collate_range(dataset: Dataset, indices: range) -> dict:
    """Items `indices` of a dataset as one batch (deterministic: held-out datasets are not augmented)."""
    if len(indices) == 0:
        raise ValueError("the held-out split is empty")
    return default_collate([dataset[i] for i in indices])


def _last_frame(t: torch.Tensor) -> torch.Tensor:
    return t[:, -1] if t.dim() == 5 else t


@torch.no_grad()
def sample_grid(method, g: torch.nn.Module, batch: dict) -> torch.Tensor:
    """(3, H', W') grid in [0, 1]: rows of original | masked | output (last frame of STN windows)."""
    y = _last_frame(method.inpaint(g, batch)).float()
    x, x_hat = _last_frame(batch["x"]).float(), _last_frame(batch["x_hat"]).float()
    rows = torch.stack([x, x_hat, y], dim=1).flatten(0, 1)
    return make_grid(rows, nrow=3, padding=2, normalize=True, value_range=(-1, 1))


def save_sample_grid(method, g: torch.nn.Module, batch: dict, run_dir: Path, step: int, writer=None) -> Path:
    grid = sample_grid(method, g, batch)
    path = run_dir / "samples" / f"step-{step:07d}.png"
    path.parent.mkdir(exist_ok=True)
    save_image(grid, path)
    if writer is not None:
        writer.add_image("samples/original|masked|output", grid, step)
    return path
