"""Helpers shared by the pipeline tests (app, anonymize, training, evaluation, demo). Holds no tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from skimage import data as skdata

from stngan import config
from stngan.checkpoint import write_model
from stngan.media import VideoReader
from stngan.models.build import build_generator

TINY_CONFIG = Path(__file__).parent.parent / "configs" / "tiny_si_lm.yaml"


def tiny_checkpoint(root: Path, *overrides: str) -> Path:
    """A tiny randomly initialised checkpoint (seed 0): these tests check pipelines, not picture quality."""
    cfg = config.load(TINY_CONFIG, list(overrides))
    torch.manual_seed(0)
    path = root / f"ckpt-{cfg.model.kind}-{len(overrides)}"
    path.mkdir()
    write_model(path, build_generator(cfg.model), cfg, 0)
    return path


def moving_stn_model(path: Path, cfg: config.ExperimentConfig, seed: int) -> Path:
    """A tiny STN exported to ``path`` whose temporal blocks are not zero: its output depends on earlier frames."""
    torch.manual_seed(seed)
    g = build_generator(cfg.model)
    for block in g.blocks:
        torch.nn.init.normal_(block.expand.weight, std=0.5)
    write_model(path, g, cfg, 0)
    return path


def astronaut_frames(count: int, no_face_at: tuple[int, ...] = ()) -> list[np.ndarray]:
    """256×200 crops around the astronaut's face moving 2 px right and 1 px down per frame."""
    photo = skdata.astronaut()
    frames = []
    for i in range(count):
        crop = photo[40 + i:240 + i, 100 + 2 * i:356 + 2 * i].copy()
        if i in no_face_at:
            crop = np.ascontiguousarray(photo[300:500, 250:506])  # suit and helmet, no face
        frames.append(crop)
    return frames


def frames_of(path: Path) -> list[np.ndarray]:
    """Every decoded frame of a video, (H, W, 3) uint8 RGB."""
    with VideoReader(path) as reader:
        return [f.image for f in reader]
