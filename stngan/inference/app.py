"""`stngan anonymize` and `stngan inpaint` over an image, a folder (mirrored) or a video.

Outputs are written under a temporary name and renamed at the end, so a failure never leaves a
half-written file. Images are written as PNG (lossless: background bit-exact); videos losslessly
(FFV1 .mkv or libx264rgb .mp4) or lossy H.264 (see stngan.media).
"""
from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from stngan.errors import InputError
from stngan.faces.image_io import load_image, save_png_atomic
from stngan.faces.mtcnn import one_torch_thread
from stngan.inference.control import LandmarkControl
from stngan.inference.continuity import complete_tracks
from stngan.inference.frames import AnonymizeOptions, AnonymizeStats, Anonymizer, FaceFinder, FrameInpainter, mask_frame
from stngan.inference.inpainter import Inpainter
from stngan.inference.shots import ShotCutDetector
from stngan.inference.sidecar import SUFFIX as SIDECAR_SUFFIX
from stngan.inference.sidecar import FrameRecord, Sidecar, SidecarError, sidecar_path_for
from stngan.media import VideoReader, VideoWriter, from_display, to_display
from stngan.media.background import BackgroundWriter, Prefetched
from stngan.media.errors import MediaError

VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".gif"}
DETECTION_QUEUE = 4  # frames in flight in the first pass per detection thread (2: 1.5 cores busy at 720p, 4: 1.7)


@dataclass
class VideoOptions:
    mode: str = "lossy"  # lossy (H.264 yuv420p) | lossless (FFV1 .mkv / libx264rgb)
    crf: int = 18
    preset: str | None = None  # x264 speed/size trade-off (None: veryfast lossy, ultrafast lossless)

    def writer(self, stack: contextlib.ExitStack, path: Path, reader) -> BackgroundWriter:
        """A writer like ``reader``'s video, encoding on its own thread, closed with ``stack``."""
        out = stack.enter_context(VideoWriter(path, like=reader, mode=self.mode, crf=self.crf, preset=self.preset))
        return stack.enter_context(BackgroundWriter(out))


def _image_output(path: Path) -> Path:
    if path.suffix.lower() != ".png":
        raise InputError(f"{path}: image outputs are written as PNG (lossless); name the output *.png")
    return path


# ---------------------------------------------------------------- anonymize

@dataclass
class InpaintAfter:
    """One-pass `anonymize --inpaint`: inpaint the masked frames before they are written.

    ``masked``: also write the masked image/video (with its sidecar) there. The result equals running
    `anonymize` (lossless) and then `inpaint` on its output, because the inpainter reads the faces as the
    sidecar stores them (JSON round trip) and the masked frames exactly as a lossless file gives them back.
    """

    inpainter: Inpainter
    control: LandmarkControl
    masked: Path | None = None
    batch_frames: int = 0


def anonymize_image(src: Path, dst: Path, options: AnonymizeOptions, review: Path | None = None,
                    then: InpaintAfter | None = None) -> dict:
    img = load_image(src)
    anonymizer = Anonymizer(options)
    masked, record = anonymizer.process(img, 0)
    sidecar = Sidecar({"name": src.name, "kind": "image", "width": img.shape[1], "height": img.shape[0],
                       "frame_count": 1, "rotation": 0}, _style(options), [record], anonymizer.stats.to_dict())
    stats = dict(sidecar.stats)
    if then is not None:
        if then.masked is not None:
            save_png_atomic(_image_output(then.masked), masked)
            sidecar.save(sidecar_path_for(then.masked))
        worker = FrameInpainter(then.inpainter, _as_stored(sidecar), then.control)
        masked = worker.process(masked, 0)
        stats["faces_inpainted"] = worker.faces_done
    save_png_atomic(_image_output(dst), masked)
    sidecar.save(sidecar_path_for(dst))
    _write_review(src, sidecar, review)
    return stats


def _as_stored(sidecar: Sidecar) -> Sidecar:
    """The sidecar exactly as `inpaint` reads it back from its JSON file (landmarks rounded)."""
    return Sidecar(sidecar.source, sidecar.mask_style, [FrameRecord.from_dict(f.to_dict()) for f in sidecar.frames],
                   sidecar.stats)


class BatchedInpaint:
    """Display-orientation frames in, inpainted frames out in order, ``batch_frames`` frames per model call.

    Two stages overlap: the model's half (:meth:`FrameInpainter.infer`: crops, G) of batch k+1 runs on a
    worker thread while this thread pastes, blends and filters batch k (ONNX Runtime, torch and OpenCV
    release the GIL), so G no longer waits for the frame work nor the frame work for G. Each stage sees the
    batches in order, so the output is the same as one stage after the other."""

    def __init__(self, worker: FrameInpainter, batch_frames: int, emit: Callable[[object, np.ndarray], None]) -> None:
        self.worker, self.batch_frames, self.emit = worker, max(1, batch_frames), emit
        self.pending: list[tuple[np.ndarray, int, object]] = []
        self.in_flight: deque = deque()  # (batch, its infer job); at most two: memory stays flat
        self.model_thread = ThreadPoolExecutor(1, thread_name_prefix="stngan-model")

    def push(self, image: np.ndarray, index: int, meta: object) -> None:
        self.pending.append((image, index, meta))
        if len(self.pending) >= self.batch_frames:
            self._submit()

    def _submit(self) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            self.in_flight.append((batch, self.model_thread.submit(
                self.worker.infer, [(image, index) for image, index, _ in batch])))
        while len(self.in_flight) > 1:
            self._finish_oldest()

    def _finish_oldest(self) -> None:
        batch, job = self.in_flight.popleft()
        outs = self.worker.finish([(image, index) for image, index, _ in batch], job.result())
        for (_, _, meta), out in zip(batch, outs):
            self.emit(meta, out)

    def flush(self) -> None:
        """Everything pushed so far, out (at the end; then :meth:`close`)."""
        self._submit()
        while self.in_flight:
            self._finish_oldest()

    def close(self) -> None:
        """End the worker thread; batches still queued are dropped (an error or Ctrl-C stopped the run)."""
        self.in_flight.clear()
        self.model_thread.shutdown(wait=True, cancel_futures=True)


def find_faces_in_video(src: Path, options: AnonymizeOptions, progress: bool) -> tuple[dict, int, list[int], int]:
    """First pass: the detected faces per frame (display orientation), frame count, shot cuts, rotation.

    Frames are detected ``options.detection_threads`` at a time (torch, OpenCV and TFLite release the GIL
    while they compute; each thread runs single-threaded), and tracked in frame order as they finish."""
    finder, cuts_detector = FaceFinder(options), ShotCutDetector()
    detected, cuts, since_detection, n = {}, [], options.detect_every, 0
    full_detections = 0  # since the last shot cut: every small_every-th one also looks for small faces
    workers = options.detection_threads
    pending: deque = deque()  # (frame index, shot cut before it, image, self-contained?, job), in frame order

    def settle_oldest() -> None:
        index, cut, image, whole, job = pending.popleft()
        if cut:
            finder.new_shot()
        if whole:
            found = job.result() if job is not None else []
        else:  # needs the tracks up to the previous frame: runs here, in frame order
            found = finder.detect_tracked(index, image, job.result())
        faces = finder.track(index, found)
        if faces:
            detected[index] = faces

    with VideoReader(src) as reader, Prefetched(reader) as frames, ThreadPoolExecutor(workers) as pool, \
            one_torch_thread():
        rotation = reader.rotation if reader.rotation % 90 == 0 else 0
        for frame in _progress(frames, reader.frame_count, f"find faces {src.name}", progress):
            image = to_display(frame.image, rotation)
            n += 1
            cut = cuts_detector.is_cut(image)
            if cut:
                cuts.append(frame.index)
                since_detection, full_detections = options.detect_every, 0
            full = since_detection >= options.detect_every
            since_detection = 0 if full else since_detection
            small = full and full_detections % options.small_face_scans == 0
            full_detections += full
            # a frame is self-contained (detected alone) unless tracked faces are re-detected where they were:
            # between full detections, and on full ones without the small-face part (small tracked faces)
            whole = small or not finder.follows_tracks
            if whole:
                job = pool.submit(finder.detect, image, not full, small) if full or finder.has_fast_part else None
            else:
                job = pool.submit(finder.detections, image, not full, False)
            pending.append((frame.index, cut, image, whole, job))
            since_detection += 1
            while len(pending) > DETECTION_QUEUE * workers:  # bounded: memory stays flat on long videos
                settle_oldest()
        while pending:
            settle_oldest()
    return detected, n, cuts, rotation


def anonymize_video(src: Path, dst: Path, options: AnonymizeOptions, video: VideoOptions, progress: bool,
                    review: Path | None = None, then: InpaintAfter | None = None) -> dict:
    """Two passes over the file: find faces (and shot cuts), complete the tracks both ways, then mask + encode
    (and with ``then``, inpaint before encoding: one command from raw video to inpainted video)."""
    detected, n, cuts, rotation = find_faces_in_video(src, options, progress)
    faces = complete_tracks(detected, n, cuts, options.hold, options.max_gap)
    stats = AnonymizeStats(tracks=len({f.track for fs in detected.values() for f in fs}), cuts=len(cuts))
    records = [FrameRecord(i, faces[i]) for i in sorted(faces)]
    sidecar = Sidecar({"name": src.name, "kind": "video", "frame_count": n, "rotation": rotation},
                      _style(options), records)
    with contextlib.ExitStack() as stack:
        reader = stack.enter_context(VideoReader(src))
        writer = video.writer(stack, dst, reader)
        masked_writer, inpaint = None, None
        if then is not None:
            sidecar = _as_stored(sidecar)
            if then.masked is not None:
                masked_writer = video.writer(stack, then.masked, reader)
            batch = then.batch_frames or (16 if then.inpainter.device.type == "cuda" else 1)
            inpaint = BatchedInpaint(FrameInpainter(then.inpainter, sidecar, then.control), batch,
                                     lambda f, out: writer.write(np.ascontiguousarray(from_display(out, rotation)), f))
            stack.callback(inpaint.close)
        by_frame = sidecar.faces_by_frame()
        frames = stack.enter_context(Prefetched(reader))
        for frame in _progress(frames, reader.frame_count, f"mask {src.name}", progress):
            face_records = by_frame.get(frame.index, [])
            stats.add(face_records)
            masked = mask_frame(to_display(frame.image, rotation), face_records, options.fill)
            stored = np.ascontiguousarray(from_display(masked, rotation))
            if inpaint is None:
                writer.write(stored, frame)
                continue
            if masked_writer is not None:
                masked_writer.write(stored, frame)
            inpaint.push(masked, frame.index, frame)
        if inpaint is not None:
            inpaint.flush()
        if stats.frames != n:
            raise MediaError(src, f"decoded {n} frames in the first pass but {stats.frames} in the second")
        stack.pop_all().close()  # drain the encoders and finish the files before the output's size is read
        width, height = writer.size  # lossy H.264 pads odd sizes by one edge row/column: describe the output
        if rotation % 180:
            width, height = height, width
        sidecar.source.update(width=width, height=height)
        sidecar.stats = stats.to_dict()
        for out in (dst, then.masked if then is not None else None):
            if out is not None:
                sidecar.save(sidecar_path_for(out))
    _write_review(src, sidecar, review)
    result = dict(sidecar.stats)
    if inpaint is not None:
        result["faces_inpainted"] = inpaint.worker.faces_done
    return result


def _write_review(src: Path, sidecar: Sidecar, review: Path | None) -> None:
    if review is not None:
        from stngan.inference.review import write_review  # matplotlib: loaded only when a review is asked for

        write_review(src, sidecar, review)


def _style(options: AnonymizeOptions) -> dict:
    return {"shape": "circles", "fill": list(options.fill), "detector": options.detector,
            "detect_every": options.detect_every, "small_every": options.small_face_scans, "hold": options.hold,
            "max_gap": options.max_gap}


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
    sc = _load_sidecar(src, sidecar)
    batch_frames = batch_frames or (16 if inpainter.device.type == "cuda" else 1)
    rotation = int(sc.source.get("rotation", 0))
    frames = 0
    with VideoReader(src) as reader:
        if (reader.rotation if reader.rotation % 90 == 0 else 0) != rotation:
            raise SidecarError(f"sidecar is for a video displayed at rotation {rotation}, but {src.name} has "
                               f"rotation {reader.rotation}")
        width, height = (reader.height, reader.width) if rotation % 180 else (reader.width, reader.height)
        sc.check_matches(width, height, reader.frame_count if reader.frame_count_exact else None, src.name)
        worker = FrameInpainter(inpainter, sc, control)
        with contextlib.ExitStack() as stack:
            writer = video.writer(stack, dst, reader)
            batched = BatchedInpaint(worker, batch_frames,
                                     lambda f, out: writer.write(np.ascontiguousarray(from_display(out, rotation)), f))
            stack.callback(batched.close)
            for frame in _progress(stack.enter_context(Prefetched(reader)), reader.frame_count,
                                   f"inpaint {src.name}", progress):
                batched.push(to_display(frame.image, rotation), frame.index, frame)
                frames += 1
            batched.flush()
    if frames != sc.source.get("frame_count", frames):
        dst.unlink(missing_ok=True)
        raise SidecarError(f"sidecar is for {sc.source['frame_count']} frames, but {src.name} has {frames}")
    return {"frames": frames, "faces_inpainted": worker.faces_done}


# ---------------------------------------------------------------- dispatch

def image_suffixes() -> set[str]:
    """Every file suffix Pillow can open, except those handled as video (animated GIF)."""
    return {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN} - VIDEO_SUFFIXES


def media_kind(path: Path) -> str:
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in image_suffixes():
        return "image"
    raise InputError(f"{path}: unsupported file type {suffix!r} (videos: {', '.join(sorted(VIDEO_SUFFIXES))}; "
                     f"images: any format Pillow reads)")


def output_for(path: Path, dst: Path) -> Path:
    """Where one input file's output goes: images as PNG, videos under their own name."""
    return dst.with_suffix(".png") if media_kind(path) == "image" else dst


def check_output(src: Path, dst: Path, overwrite: bool) -> None:
    """Refuse (one line) an output that would replace the input or its sidecar, or an existing output."""
    s, d = src.resolve(), dst.resolve()
    if d == s or d == sidecar_path_for(s) or sidecar_path_for(d) == s:
        raise InputError(f"{dst}: the output would replace the input {src}; choose another output path")
    if src.is_dir() and (d == s or s in d.parents):
        raise InputError(f"{dst}: the output folder is inside the input folder {src}; choose one outside it")
    if src.is_dir() and (s == d or d in s.parents):
        raise InputError(f"{dst}: the input folder {src} is inside the output folder; choose another output folder")
    if not src.is_dir() and not overwrite and (dst.exists() or sidecar_path_for(dst).exists()):
        raise InputError(f"{dst} already exists; pass --overwrite to replace it")


def run_on_path(src: Path, dst: Path, on_image: Callable[[Path, Path], dict],
                on_video: Callable[[Path, Path], dict], progress: bool = True, overwrite: bool = False) -> dict:
    """Apply to an image, a video, or every image/video of a folder (mirrored into dst).

    In a folder, one file's bad input does not stop the others: the totals list every file left out with
    its one-line reason, under ``skipped`` (not an image or video) or ``failed`` (unreadable, an existing
    output without ``overwrite``, ...).
    """
    if not src.exists():
        raise FileNotFoundError(f"input not found: {src}")
    kind = media_kind(src)
    if kind != "folder":
        check_output(src, dst, overwrite)
        return on_image(src, dst) if kind == "image" else on_video(src, dst)
    check_output(src, dst, overwrite)
    totals: dict[str, int] = {}
    skipped: list[tuple[str, str]] = []
    failed: list[tuple[str, str]] = []
    files = sorted(p for p in src.rglob("*") if p.is_file() and not p.name.endswith(SIDECAR_SUFFIX))
    for path in _progress(files, len(files), f"{src.name}/", progress):
        rel = str(path.relative_to(src))
        try:
            kind = media_kind(path)
        except ValueError:
            skipped.append((rel, "not an image or video this tool reads"))
            continue
        try:
            out = output_for(path, dst / rel)
            check_output(path, out, overwrite)
            out.parent.mkdir(parents=True, exist_ok=True)
            stats = on_image(path, out) if kind == "image" else on_video(path, out)
        except (ValueError, OSError) as e:  # user-facing errors are ValueErrors (module errors) or OSErrors
            failed.append((rel, str(e).replace(str(path), "").lstrip(": ") or e.__class__.__name__))
            continue
        for k, v in stats.items():
            if isinstance(v, (int, np.integer)):
                totals[k] = totals.get(k, 0) + int(v)
    totals["files"] = len(files) - len(skipped) - len(failed)
    totals["skipped"], totals["failed"] = skipped, failed  # type: ignore[assignment]
    return totals


def _progress(iterable, total, desc: str, enabled: bool):
    return tqdm(iterable, total=total, desc=desc, unit="frame", disable=not enabled, dynamic_ncols=True)
