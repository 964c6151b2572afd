"""Prepare one shard: decode its units, keep one face per frame, write the shard atomically.

Runs in a worker process (or inline with ``--workers 1``). Files that cannot be decoded are reported, never
raised; any other error (a bug, missing dlib weights) propagates and leaves no shard behind.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stngan.data.prepare.decode import DECODE_ERRORS, iter_frames
from stngan.data.prepare.extract import Crop, FaceExtractor, extractor_for
from stngan.data.prepare.plan import ExtractOptions, Unit
from stngan.data.prepare.report import Report
from stngan.data.prepare.textfiles import AnnotationError, read_pts
from stngan.data.shard_writer import FaceRecord, ShardWriter
from stngan.faces.image_io import UnsupportedImageError, load_image

Tick = Callable[[int], None]  # called with the number of frames just processed


@dataclass(frozen=True)
class ShardJob:
    root: Path  # the dataset root the units' paths are relative to
    dst: Path  # the store
    k: int  # shard number
    first: int  # source index of units[0]
    units: tuple[Unit, ...]
    extract: ExtractOptions
    config_hash: str


def _frames(path: Path, unit: Unit, errors: list[str]) -> Iterator[tuple[int, np.ndarray]]:
    if unit.kind == "image":
        yield 0, load_image(path)
    else:
        yield from iter_frames(path, unit.max_frames, errors)


def _annotated_landmarks(root: Path, unit: Unit, frame: int, report: Report) -> np.ndarray | None:
    """0-based (68, 2) frame landmarks from ``<annotations>/<frame+1:06d>.pts``, or None (use dlib)."""
    if unit.annotations is None:
        return None
    pts = root / unit.annotations / f"{frame + 1:06d}.pts"
    if not pts.is_file():
        return None
    try:
        return (read_pts(pts) - 1.0).astype(np.float32)  # iBUG .pts are 1-based
    except AnnotationError as e:
        report.bad_annotations.append({"path": f"{unit.annotations}/{pts.name}", "reason": str(e)})
        return None


def _face(img: np.ndarray, root: Path, unit: Unit, frame: int, extractor: FaceExtractor,
          report: Report) -> tuple[Crop | None, bool]:
    """(the kept face's crop or None, whether its landmarks are the dataset's); updates the counters."""
    landmarks = _annotated_landmarks(root, unit, frame, report)
    if landmarks is not None:
        report.annotated += 1
        return extractor.crop(img, landmarks), True
    crop, n_faces = extractor.detect_and_crop(img, unit.hint)
    report.several += n_faces > 1
    return crop, False


def _process_unit(job: ShardJob, source: int, unit: Unit, extractor: FaceExtractor, writer: ShardWriter,
                  report: Report, tick: Tick) -> None:
    report.units += 1
    errors: list[str] = []
    frames = _frames(job.root / unit.path, unit, errors)
    decoded = 0
    while True:
        try:
            frame, img = next(frames)
        except StopIteration:
            break
        except (UnsupportedImageError, *DECODE_ERRORS) as e:
            errors.append(" ".join(str(e).split()) or e.__class__.__name__)
            break
        decoded += 1
        report.frames += 1
        crop, annotated = _face(img, job.root, unit, frame, extractor, report)
        if crop is None:
            report.no_face += 1
        else:
            report.faces += 1
            writer.add(FaceRecord(crop.image, crop.landmarks, crop.transform, source, frame, unit.identity,
                                  unit.video, unit.split, annotated))
        tick(1)
    if errors and decoded == 0:
        report.unreadable.append({"path": unit.path, "reason": errors[-1]})
    elif errors:
        report.damaged.append({"path": unit.path, "frames": decoded, "errors": len(errors), "reason": errors[0]})


def run_shard(job: ShardJob, tick: Tick | None = None) -> dict:
    """Prepare shard ``job.k`` and return its report as a dict."""
    extractor = extractor_for(job.extract)
    report = Report()
    with ShardWriter(job.dst, job.k) as writer:
        for offset, unit in enumerate(job.units):
            _process_unit(job, job.first + offset, unit, extractor, writer, report, tick or (lambda n: None))
        writer.commit({"config_hash": job.config_hash, "units": [job.first, job.first + len(job.units)],
                       "report": report.to_dict()})
    return report.to_dict()
