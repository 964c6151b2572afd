"""CPU time of each stage of an anonymize / inpaint run, measured inside the run (benchmarks only).

:class:`StageClock` wraps the functions named in STAGES for the duration of a ``with`` block and adds up the
CPU time of the calling thread (``time.thread_time``) of each outermost call (a stage calling itself again,
e.g. recursively, is counted once). Threads run in parallel, so the stages' sum can exceed the wall time;
what no stage covers is reported as the rest of the process CPU time: native helper threads (ONNX Runtime's
second intra-op thread, i.e. part of G; libav's decoding and x264's encoding threads), queues, start-up.
"""
from __future__ import annotations

import functools
import importlib
import threading
import time
from collections import defaultdict

# (label, module, class or None, attribute); a module attribute is patched where callers look it up
STAGES = (
    ("detection: full, with the small-face part", "stngan.faces.detect", "FaceDetector", "detect_with_points:small"),
    ("detection: full, large faces only", "stngan.faces.detect", "FaceDetector", "detect_with_points:full"),
    ("detection: fast part (BlazeFace) between full ones", "stngan.faces.detect", "FaceDetector",
     "detect_with_points:fast"),
    ("detection: MTCNN near tracked faces", "stngan.faces.detect", "FaceDetector", "detect_near"),
    ("68 landmarks", "stngan.faces.landmarks", "LandmarkPredictor", "predict"),
    ("G + crop-level Poisson blend", "stngan.inference.inpainter", "Inpainter", "_run"),
    ("  of which the crop-level Poisson blend", "stngan.inference.inpainter", None, "poisson_blend"),
    ("Poisson blend of the edge band (frame level)", "stngan.inference.crops", None, "blend_in_frame"),
    ("temporal filter", "stngan.inference.temporal", "TemporalFilter", "apply"),
    ("masking the frame", "stngan.inference.app", None, "mask_frame"),
    ("frame -> RGB array (decode side)", "stngan.media.video_reader", None, "frame_to_rgb"),
    ("VideoWriter.write (the caller's part of encoding)", "stngan.media.video_writer", "VideoWriter", "write"),
)


def _variant(kwargs: dict) -> str:
    """Which part of FaceDetector.detect_with_points a call runs."""
    if kwargs.get("fast_only"):
        return "fast"
    return "small" if kwargs.get("small", True) else "full"


class StageClock:
    """``with StageClock() as clock: run()`` then ``clock.rows(frames)``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._local = threading.local()
        self._patched: list[tuple[object, str, object]] = []
        self._cpu0 = 0.0
        self.process_cpu = 0.0

    def _wrap(self, labels: dict[str, str], attr: str, fn):
        clock = self

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            label = labels[_variant(kwargs)] if len(labels) > 1 else next(iter(labels.values()))
            depth = getattr(clock._local, attr, 0)
            setattr(clock._local, attr, depth + 1)
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                setattr(clock._local, attr, depth)
                if depth == 0:
                    clock.seconds[label] += time.thread_time() - start
                    clock.calls[label] += 1
        return timed

    def __enter__(self) -> StageClock:
        grouped: dict[tuple[str, str | None, str], dict[str, str]] = defaultdict(dict)
        for label, module, owner, attr in STAGES:
            name, _, variant = attr.partition(":")
            grouped[(module, owner, name)][variant] = label
        for (module, owner, name), labels in grouped.items():
            target = importlib.import_module(module)
            target = getattr(target, owner) if owner else target
            original = target.__dict__[name] if owner else getattr(target, name)
            self._patched.append((target, name, original))
            setattr(target, name, self._wrap(labels, f"{owner}.{name}", original))
        self._cpu0 = time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.process_cpu = time.process_time() - self._cpu0
        for target, name, original in reversed(self._patched):
            setattr(target, name, original)
        self._patched.clear()

    def rows(self, frames: int) -> list[tuple[str, int, float, float]]:
        """(label, calls, CPU ms per frame, share of the process CPU %) per stage, in STAGES order, and the
        rest of the process CPU time last."""
        out = []
        for label, *_ in STAGES:
            s = self.seconds.get(label, 0.0)
            out.append((label, self.calls.get(label, 0), 1000 * s / frames, 100 * s / self.process_cpu))
        nested = {label for label, *_ in STAGES if label.startswith("  ")}
        rest = self.process_cpu - sum(s for label, s in self.seconds.items() if label not in nested)
        out.append(("rest: ONNX Runtime's pool thread (part of G), decoding and x264's threads, queues, start-up", 0, 1000 * rest / frames,
                    100 * rest / self.process_cpu))
        return out
