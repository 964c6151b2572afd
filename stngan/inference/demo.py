"""`stngan demo`: anonymise then inpaint the bundled real clip, and write a side-by-side picture.

Outputs in OUT: input.mp4 (the sample), anonymized.mp4 + its sidecar, inpainted.mp4, side_by_side.png
(original | anonymised | inpainted at a few frames). One pass (``anonymize --inpaint --masked-output``): the
fill is made from the decoded frames, never from a lossy masked file (H.264 leaves grey chroma and ringing
next to each black disc, which came back as lines along the mask outline). Uses the default fill (synthetic
donors, docs/DONORS.md) unless --model is given.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from stngan.faces.image_io import save_png_atomic
from stngan.inference import app
from stngan.inference.control import LandmarkControl
from stngan.inference.frames import AnonymizeOptions
from stngan.inference.fills import is_donor, open_inpainter
from stngan.inference.inpainter import model_path
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
    inpainter = open_inpainter(model, device=device)
    then = app.InpaintAfter(inpainter, LandmarkControl(), masked)
    stats = app.anonymize_video(src, painted, AnonymizeOptions(), video, progress, then=then)
    with VideoReader(src) as reader:
        n = reader.frame_count or 1
    picture = out / "side_by_side.png"
    save_png_atomic(picture, side_by_side([src, masked, painted], [n // 6, n // 2, 5 * n // 6]))
    what = (f"synthetic donor faces from {inpainter.path} (docs/DONORS.md: licence, how they are chosen and warped)"
            if is_donor(model) else f"{model_path(model)} (see its MODEL_CARD.md for data, training and limits)")
    return [f"anonymized {stats['faces']} faces in {stats['frames']} frames -> {masked}",
            f"inpainted {stats.get('faces_inpainted', 0)} faces in the same pass -> {painted}",
            f"side by side (original | anonymized | inpainted) -> {picture}",
            f"fill: {what}"]
