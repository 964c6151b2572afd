"""Outputs produced by another system (e.g. vid2vid), scored like any method, and the inputs to give it.

Alignment with the evaluation set is by name for images and by frame index for videos. For the item with
key ``K`` (source path without extension, ``STEM/FFFFFF`` for frame F of a video) the output is, first found:
``DIR/K.<image ext>``; ``DIR/<basename of K>.<image ext>``; for video frames, frame F of ``DIR/STEM.<video
ext>`` or ``DIR/<basename of STEM>.<video ext>``, or of the single video given instead of DIR. An output of
the crop's size is taken as the crop; any other size is a full frame, cut with the item's crop transform
(the paper scores vid2vid "only on cropped faces"). Outputs are scored as they are, without compositing.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from stngan.evaluation.batch import MethodInput, from_uint8_images, to_uint8_images
from stngan.evaluation.method import Method, MethodError
from stngan.faces import CropTransform, load_image, save_png_atomic
from stngan.media import VideoReader

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
VIDEO_EXTS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v")


class ExternalOutputs(Method):
    """Reads outputs from a folder (images and/or videos) or a single video file."""

    def __init__(self, path: str | Path, label: str | None = None) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise MethodError(f"external outputs {self.path} do not exist")
        self.label = label or f"external: {self.path.name}"
        self._videos: dict[Path, dict[int, np.ndarray]] = {}

    def fingerprint(self) -> str:
        files = [self.path] if self.path.is_file() else sorted(p for p in self.path.rglob("*") if p.is_file())
        stamp = [(str(p.relative_to(self.path.parent)), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
        return "ext-" + hashlib.sha256(json.dumps(stamp).encode()).hexdigest()[:16]

    def _video_frame(self, video: Path, index: int) -> np.ndarray | None:
        if video not in self._videos:
            with VideoReader(video) as reader:
                self._videos[video] = {f.index: f.image for f in reader}
        return self._videos[video].get(index)

    def _find(self, key: str) -> np.ndarray:
        stem, _, frame = key.rpartition("/")
        is_frame = frame.isdigit() and len(frame) == 6
        if self.path.is_file():
            if not is_frame:
                raise MethodError(f"external output {self.path} is one video but item {key!r} is not a video frame")
            img = self._video_frame(self.path, int(frame))
            if img is None:
                raise MethodError(f"external video {self.path} has no frame {int(frame)} (item {key})")
            return img
        for candidate in (key, Path(key).name):
            for ext in IMAGE_EXTS:
                if (self.path / f"{candidate}{ext}").is_file():
                    return load_image(self.path / f"{candidate}{ext}")
        if is_frame:
            for candidate in (stem, Path(stem).name):
                for ext in VIDEO_EXTS:
                    video = self.path / f"{candidate}{ext}"
                    if video.is_file() and (img := self._video_frame(video, int(frame))) is not None:
                        return img
        raise MethodError(f"no external output for test item {key!r} in {self.path} (expected {key}.png or a video)")

    def __call__(self, inp: MethodInput) -> torch.Tensor:
        size = inp.x_hat.shape[-1]
        crops = []
        for key, (cx, cy, side) in zip(inp.keys, inp.transforms):
            img = self._find(key)
            crops.append(img if img.shape[:2] == (size, size) else CropTransform(cx, cy, side, size).crop(img))
        return from_uint8_images(np.stack(crops))


def export_inputs(batches, out_dir: str | Path) -> int:
    """Write what another system needs, per item ``K``: ``K.png`` (masked crop x_hat), ``K.mask.png``
    (255 = inpaint) and one ``inputs.json`` (keys, crop landmarks, crop transforms). Returns the count."""
    out = Path(out_dir)
    records = []
    for inp in batches:
        images, masks = to_uint8_images(inp.x_hat), (inp.mask[:, 0].numpy() > 0.5)
        for key, img, m, lm, tr in zip(inp.keys, images, masks, inp.landmarks, inp.transforms):
            (out / key).parent.mkdir(parents=True, exist_ok=True)
            save_png_atomic(out / f"{key}.png", img)
            save_png_atomic(out / f"{key}.mask.png", np.repeat((m * 255).astype(np.uint8)[..., None], 3, axis=2))
            records.append({"key": key, "landmarks": np.round(lm, 3).tolist(),
                            "transform": dict(zip(("cx", "cy", "side"), map(float, tr)))})
    out.mkdir(parents=True, exist_ok=True)
    (out / "inputs.json").write_text(json.dumps({"items": records}, indent=1))
    return len(records)
