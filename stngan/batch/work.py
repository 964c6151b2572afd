"""What one file's work is, in a form that travels to a worker process or a Ray node (picklable specs), and
the wrapper that turns one file into one job record whatever happens to it.

This module imports no torch: a spawned worker sets its thread limits before the work's own imports run
(``limit_threads``), so the inference imports are in the functions that need them, each marked."""
from __future__ import annotations

import glob
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from stngan.batch.jobs import DONE, FAILED, SKIPPED
from stngan.errors import UserError
from stngan.inference.temporal import DEFAULT_WEIGHT

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass(frozen=True)
class Task:
    rel: str  # input relative to the batch root, posix
    src: Path
    dst: Path  # mirrored output before the image → .png rule
    out_root: Path
    overwrite: bool = False


@dataclass(frozen=True)
class ModelSpec:
    """An Inpainter to build where the work runs (a model never travels between processes)."""

    model: str | None = None
    device: str = "cpu"
    amp: str = "auto"
    blend: str = "poisson"
    temporal: float = DEFAULT_WEIGHT
    runtime: str = "auto"
    seed: int = 0
    donor: int | None = None
    bank: str | None = None

    def build(self):
        from stngan.inference.fills import open_inpainter  # in the worker, after limit_threads

        return open_inpainter(self.model, device=self.device, amp=self.amp, blend=self.blend, temporal=self.temporal,
                              runtime=self.runtime, seed=self.seed, donor=self.donor, bank=self.bank)


class MediaFiles:
    """Which inputs a media work reads and where their outputs go: the rules of `stngan anonymize|inpaint`.

    A work (anything with ``command``, ``device``, ``record()``, ``open(threads)`` and these two methods) is
    what travels to a worker; the batch machinery knows nothing else about it."""

    def output_for(self, src: Path, dst: Path) -> Path:
        """ValueError: not a file this tool reads (the file is skipped)."""
        from stngan.inference.app import output_for  # in the worker, after limit_threads

        return output_for(src, dst)

    def check_output(self, src: Path, out: Path, overwrite: bool) -> None:
        from stngan.inference.app import check_output  # in the worker, after limit_threads

        check_output(src, out, overwrite)


@dataclass(frozen=True)
class AnonymizeWork(MediaFiles):
    options: AnonymizeOptions
    video: VideoOptions
    review: Path | None = None  # folder of audit pages, mirrored like the outputs
    inpaint: ModelSpec | None = None  # anonymize --inpaint
    batch_frames: int = 0
    command = "anonymize"

    def record(self) -> dict:
        return _jsonable({"command": self.command, **asdict(self.options), "video": asdict(self.video),
                          "review": str(self.review) if self.review else None,
                          "inpaint": asdict(self.inpaint) if self.inpaint else None, "batch_frames": self.batch_frames})

    @property
    def device(self) -> str:
        return self.inpaint.device if self.inpaint else "cpu"

    def open(self, threads: int):
        """The per-process worker: detection threads default to this worker's share of the cores."""
        return _Anonymize(self, threads)


class _Anonymize:
    def __init__(self, work: AnonymizeWork, threads: int) -> None:
        from stngan.inference.app import InpaintAfter  # in the worker, after limit_threads
        from stngan.inference.control import LandmarkControl  # in the worker, after limit_threads

        self.work = work
        self.options = work.options if work.options.workers else replace(work.options, workers=threads)
        self.then = None
        if work.inpaint is not None:
            self.then = InpaintAfter(work.inpaint.build(), LandmarkControl(), None, work.batch_frames)

    def __call__(self, src: Path, dst: Path, rel: str) -> dict:
        from stngan.inference import app  # in the worker, after limit_threads

        review = self.work.review / Path(rel).with_suffix(".html") if self.work.review else None
        if review is not None:
            review.parent.mkdir(parents=True, exist_ok=True)  # the review writer expects its folder
        if self.then is not None:
            self.then.inpainter.reset()
        if app.media_kind(src) == "image":
            return app.anonymize_image(src, dst, self.options, review, self.then)
        return app.anonymize_video(src, dst, self.options, self.work.video, False, review, self.then)


@dataclass(frozen=True)
class InpaintWork(MediaFiles):
    model: ModelSpec
    video: VideoOptions
    batch_frames: int = 0
    landmarks_from: Path | None = None
    perturb: float = 0.0
    seed: int = 0
    command = "inpaint"

    def record(self) -> dict:
        return _jsonable({"command": self.command, **asdict(self.model), "video": asdict(self.video),
                          "batch_frames": self.batch_frames, "perturb": self.perturb, "seed": self.seed,
                          "landmarks_from": str(self.landmarks_from) if self.landmarks_from else None})

    @property
    def device(self) -> str:
        return self.model.device

    def open(self, threads: int):
        return _Inpaint(self)


class _Inpaint:
    def __init__(self, work: InpaintWork) -> None:
        from stngan.inference.control import landmark_control  # in the worker, after limit_threads

        self.work = work
        self.inpainter = work.model.build()
        self.control = landmark_control(work.landmarks_from, work.perturb, work.seed, self.inpainter.crop_size)

    def __call__(self, src: Path, dst: Path, rel: str) -> dict:
        from stngan.inference import app  # in the worker, after limit_threads

        self.inpainter.reset()
        if app.media_kind(src) == "image":
            return app.inpaint_image(src, dst, self.inpainter, None, self.control)
        return app.inpaint_video(src, dst, self.inpainter, None, self.control, self.work.video, False,
                                 self.work.batch_frames)


def _jsonable(value: dict) -> dict:
    """As the job file gives it back (tuples become lists), so a stored record compares equal."""
    return json.loads(json.dumps(value))


def limit_threads(threads: int) -> None:
    """This process computes on ``threads`` threads (OpenMP/BLAS, torch, OpenCV): N workers × threads = cores.

    Called before the work is unpickled (torch then starts with OMP_NUM_THREADS) and again once it is open."""
    for name in THREAD_ENV:
        os.environ[name] = str(threads)
    if (torch := sys.modules.get("torch")) is not None:
        torch.set_num_threads(threads)
    if (cv2 := sys.modules.get("cv2")) is not None:
        cv2.setNumThreads(threads)


def source_of(path: Path) -> dict:
    """What identifies an input's version: a changed input is processed again."""
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def run_task(work, processor, options: dict, task: Task) -> dict:
    """One file → one record; never raises for a bad file (its one-line error goes into the record)."""
    start = time.perf_counter()
    record = {"input": task.rel, "output": None, "status": FAILED, "options": options, "error": None,
              "faces": 0, "frames": 0, "stats": {}, "source": None}
    try:
        if not task.src.is_file():
            raise FileNotFoundError("input not found")
        record["source"] = source_of(task.src)
        try:
            out = work.output_for(task.src, task.dst)
        except ValueError:
            record.update(status=SKIPPED, error="not an image or video this tool reads")
            return _finish(record, start)
        record["output"] = out.relative_to(task.out_root).as_posix()
        remove_partials(out)
        work.check_output(task.src, out, task.overwrite)
        out.parent.mkdir(parents=True, exist_ok=True)
        stats = processor(task.src, out, task.rel)
        record.update(status=DONE, stats={k: _number(v) for k, v in stats.items() if _number(v) is not None},
                      frames=int(stats.get("frames", 1)), faces=int(stats.get("faces", stats.get("faces_inpainted", 0))))
    except Exception as e:  # noqa: BLE001 - one bad file (or one bug on one file) never stops a corpus
        record["error"] = one_line(e, task)
    return _finish(record, start)


def _number(value) -> int | float | None:
    """Plain int/float of a stats value (numpy scalars included); None for anything else."""
    value = value.item() if hasattr(value, "item") else value
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _finish(record: dict, start: float) -> dict:
    record["duration_s"] = round(time.perf_counter() - start, 3)
    record["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return record


def one_line(error: BaseException, task: Task | None = None) -> str:
    """The user-facing message on one line, paths relative (the same in every run and on every node)."""
    text = str(error)
    if task is not None:  # the summary line names the file already
        text = text.replace(str(task.src), "").lstrip(": ").replace(str(task.out_root) + os.sep, "")
    text = " ".join(text.split()) or error.__class__.__name__
    user = isinstance(error, (UserError, ValueError, OSError))  # bad input, unreadable file: no class name
    return text if user else f"internal error {error.__class__.__name__}: {text}"


def partials_of(out: Path) -> list[Path]:
    """Temporary files a killed writer of ``out`` leaves (media writer, PNG writer, sidecar)."""
    if not out.parent.is_dir():
        return []
    name = glob.escape(out.name)
    patterns = (f".{name}.*.partial", f".{name}.*.tmp", f"{name}.stngan.json*.tmp")
    return [p for pattern in patterns for p in out.parent.glob(pattern)]


def remove_partials(out: Path) -> None:
    for path in partials_of(out):
        path.unlink(missing_ok=True)


def lost_record(work, task: Task, why: str) -> dict:
    """The record of a file whose worker died (more often than the retries allow)."""
    record = {"input": task.rel, "output": None, "status": FAILED, "options": work.record(), "error": why,
              "faces": 0, "frames": 0, "stats": {}, "source": None}
    try:
        out = work.output_for(task.src, task.dst)
        record["output"] = out.relative_to(task.out_root).as_posix()
        remove_partials(out)
    except ValueError:
        pass
    return _finish(record, time.perf_counter())
