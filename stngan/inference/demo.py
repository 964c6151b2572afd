"""`stngan demo`: anonymise then inpaint the bundled real clip, and write a side-by-side picture.

Outputs in OUT: input.mp4 (the sample), anonymized.mp4 + its sidecar, inpainted.mp4, side_by_side.png
(original | anonymised | inpainted at a few frames). Uses the model shipped in stngan/assets/models/si_lm
(its MODEL_CARD.md says how it was trained) unless --model is given.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from stngan.faces.image_io import save_png_atomic
from stngan.inference import app
from stngan.inference.control import LandmarkControl
from stngan.inference.frames import AnonymizeOptions
from stngan.inference.inpainter import Inpainter, default_model_dir, model_path
from stngan.media import VideoReader


def sample_clip() -> Path:
    return Path(__file__).resolve().parent.parent / "assets" / "samples" / "single_face.mp4"


def _frames_at(path: Path, indices: set[int]) -> dict[int, np.ndarray]:
    out = {}
    with VideoReader(path) as reader:
        for frame in reader:
            if frame.index in indices:
                out[frame.index] = frame.image
    return out


def side_by_side(paths: list[Path], indices: list[int]) -> np.ndarray:
    """Rows = frames, columns = the given videos; a 4 px white gutter between tiles."""
    columns = [_frames_at(p, set(indices)) for p in paths]
    h, w = min(c[i].shape[0] for c in columns for i in indices), min(c[i].shape[1] for c in columns for i in indices)
    gutter = 4
    canvas = np.full((len(indices) * (h + gutter) - gutter, len(paths) * (w + gutter) - gutter, 3), 255, np.uint8)
    for r, i in enumerate(indices):
        for c, col in enumerate(columns):
            canvas[r * (h + gutter):r * (h + gutter) + h, c * (w + gutter):c * (w + gutter) + w] = col[i][:h, :w]
    return canvas


def run_demo(out: Path, model: str | None = None, device: str = "cpu", progress: bool = True) -> list[str]:
    """Run the demo; returns the lines to show the user."""
    out.mkdir(parents=True, exist_ok=True)
    src = out / "input.mp4"
    shutil.copyfile(sample_clip(), src)
    masked, painted = out / "anonymized.mp4", out / "inpainted.mp4"
    video = app.VideoOptions("lossy", 18)
    stats = app.anonymize_video(src, masked, AnonymizeOptions(), video, progress)
    lines = [f"anonymized {stats['faces']} faces in {stats['frames']} frames -> {masked}"]
    if model is None and not (default_model_dir() / "config.json").is_file():
        lines.append(f"NO TRAINED MODEL: {default_model_dir()} is empty in this checkout, so nothing was inpainted; "
                     "train one (README: 'The shipped model') or pass --model")
        return lines
    inpainter = Inpainter(model, device=device)
    stats = app.inpaint_video(masked, painted, inpainter, None, LandmarkControl(), video, progress)
    with VideoReader(src) as reader:
        n = reader.frame_count or 1
    picture = out / "side_by_side.png"
    save_png_atomic(picture, side_by_side([src, masked, painted], [n // 6, n // 2, 5 * n // 6]))
    card = model_path(model)
    lines += [f"inpainted {stats['faces_inpainted']} faces -> {painted}",
              f"side by side (original | anonymized | inpainted) -> {picture}",
              f"model: {card} ({inpainter.config.name}, see its MODEL_CARD.md for data, training and limits)"]
    return lines
