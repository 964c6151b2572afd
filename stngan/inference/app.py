"""`stngan anonymize` and `stngan inpaint` over an image, a folder (mirrored) or a video.

Outputs are written under a temporary name and renamed at the end, so a failure never leaves a
half-written file. Images are written as PNG (lossless: background bit-exact); videos losslessly
(FFV1 .mkv or libx264rgb .mp4) or lossy H.264 (see stngan.media).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from stngan.faces.image_io import load_image, save_png_atomic
from stngan.inference.control import LandmarkControl
from stngan.inference.frames import AnonymizeOptions, Anonymizer, FrameInpainter
from stngan.inference.inpainter import Inpainter
from stngan.inference.sidecar import Sidecar, SidecarError, sidecar_path_for

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".gif"}


@dataclass
class VideoOptions:
    mode: str = "lossy"  # lossy (H.264 yuv420p) | lossless (FFV1 .mkv / libx264rgb)
    crf: int = 18


def media_kind(path: Path) -> str:
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    raise ValueError(f"{path}: unsupported file type {suffix!r} (images: {', '.join(sorted(IMAGE_SUFFIXES))}; "
                     f"videos: {', '.join(sorted(VIDEO_SUFFIXES))})")


def _image_output(path: Path) -> Path:
    if path.suffix.lower() != ".png":
        raise ValueError(f"{path}: image outputs are written as PNG (lossless); name the output *.png")
    return path


# ---------------------------------------------------------------- anonymize

def anonymize_image(src: Path, dst: Path, options: AnonymizeOptions) -> dict:
    img = load_image(src)
    anonymizer = Anonymizer(options)
    masked, record = anonymizer.process(img, 0)
    sidecar = Sidecar({"name": src.name, "kind": "image", "width": img.shape[1], "height": img.shape[0],
                       "frame_count": 1}, _style(options), [record], anonymizer.stats.to_dict())
    save_png_atomic(_image_output(dst), masked)
    sidecar.save(sidecar_path_for(dst))
    return sidecar.stats


def anonymize_video(src: Path, dst: Path, options: AnonymizeOptions, video: VideoOptions, progress: bool) -> dict:
    from stngan.media import VideoReader, VideoWriter

    anonymizer = Anonymizer(options)
    records = []
    with VideoReader(src) as reader, VideoWriter(dst, like=reader, mode=video.mode, crf=video.crf) as writer:
        for frame in _progress(reader, reader.frame_count, f"anonymize {src.name}", progress):
            masked, record = anonymizer.process(frame.image, frame.index)
            writer.write(masked, frame)
            if record.faces:
                records.append(record)
        width, height = writer.size  # lossy H.264 pads odd sizes by one edge row/column: describe the output
        source = {"name": src.name, "kind": "video", "width": width, "height": height,
                  "frame_count": anonymizer.stats.frames}
        sidecar = Sidecar(source, _style(options), records, anonymizer.stats.to_dict())
        sidecar.save(sidecar_path_for(dst))
    return sidecar.stats


def _style(options: AnonymizeOptions) -> dict:
    return {"shape": "circles", "fill": list(options.fill), "detector": options.detector}


# ---------------------------------------------------------------- inpaint

def _load_sidecar(media: Path, sidecar: Path | None) -> Sidecar:
    path = sidecar or sidecar_path_for(media)
    if not path.is_file():
        raise SidecarError(f"no sidecar for {media} (looked for {path}): masks cannot be re-detected on masked "
                           f"faces; produce the input with `stngan anonymize` (it writes the sidecar) or pass --sidecar")
    return Sidecar.load(path)


def inpaint_image(src: Path, dst: Path, inpainter: Inpainter, sidecar: Path | None,
                  control: LandmarkControl) -> dict:
    img = load_image(src)
    sc = _load_sidecar(src, sidecar)
    sc.check_matches(img.shape[1], img.shape[0], 1, src.name)
    worker = FrameInpainter(inpainter, sc, control)
    save_png_atomic(_image_output(dst), worker.process(img, 0))
    return {"frames": 1, "faces_inpainted": worker.faces_done}


def inpaint_video(src: Path, dst: Path, inpainter: Inpainter, sidecar: Path | None, control: LandmarkControl,
                  video: VideoOptions, progress: bool, batch_frames: int = 0) -> dict:
    """Inpaint a video; `batch_frames` consecutive frames share one model call (0: 16 on CUDA, else 1)."""
    from stngan.media import VideoReader, VideoWriter

    sc = _load_sidecar(src, sidecar)
    batch_frames = batch_frames or (16 if inpainter.device.type == "cuda" else 1)
    frames = 0
    with VideoReader(src) as reader:
        sc.check_matches(reader.width, reader.height, reader.frame_count if reader.frame_count_exact else None,
                         src.name)
        worker = FrameInpainter(inpainter, sc, control)
        with VideoWriter(dst, like=reader, mode=video.mode, crf=video.crf) as writer:
            pending = []  # at most batch_frames decoded frames are held: memory stays bounded

            def flush() -> None:
                outs = worker.process_batch([(f.image, f.index) for f in pending])
                for f, out in zip(pending, outs):
                    writer.write(out, f)
                pending.clear()

            for frame in _progress(reader, reader.frame_count, f"inpaint {src.name}", progress):
                pending.append(frame)
                frames += 1
                if len(pending) >= batch_frames:
                    flush()
            flush()
    if frames != sc.source.get("frame_count", frames):
        dst.unlink(missing_ok=True)
        raise SidecarError(f"sidecar is for {sc.source['frame_count']} frames, but {src.name} has {frames}")
    return {"frames": frames, "faces_inpainted": worker.faces_done}


# ---------------------------------------------------------------- dispatch

def run_on_path(src: Path, dst: Path, on_image: Callable[[Path, Path], dict],
                on_video: Callable[[Path, Path], dict], progress: bool = True) -> dict:
    """Apply to an image, a video, or every image/video of a folder (mirrored into dst)."""
    kind = media_kind(src)
    if not src.exists():
        raise FileNotFoundError(f"input not found: {src}")
    if kind == "image":
        return on_image(src, dst)
    if kind == "video":
        return on_video(src, dst)
    totals: dict[str, int] = {}
    files = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES
                   and not p.name.endswith(".stngan.json"))
    for path in _progress(files, len(files), f"{src.name}/", progress):
        rel = path.relative_to(src)
        out = dst / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if media_kind(path) == "image":
            stats = on_image(path, out.with_suffix(".png"))
        else:
            stats = on_video(path, out)
        for k, v in stats.items():
            if isinstance(v, (int, np.integer)):
                totals[k] = totals.get(k, 0) + int(v)
    totals["files"] = len(files)
    return totals


def _progress(iterable, total, desc: str, enabled: bool):
    return tqdm(iterable, total=total, desc=desc, unit="frame", disable=not enabled, dynamic_ncols=True)
