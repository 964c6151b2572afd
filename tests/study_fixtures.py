"""Helpers for the study tests (tests/test_study_*.py): tiny generated clips and studies. Holds no tests."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from stngan.media import VideoInfo, VideoWriter
from stngan.study import StudyInputs, make_study

METHODS = ["SI", "SI-lm", "STN", "STN-lm"]
COLOURS = [(200, 40, 40), (40, 160, 40), (40, 60, 200), (200, 180, 40)]


def write_clip(path: Path, colour: tuple[int, int, int], frames: int = 50, size: tuple[int, int] = (64, 64),
               fps: int = 25, speed: int = 1, suffix_codec: str = "lossy") -> Path:
    """A clip of a moving white square on ``colour``; (width, height) = ``size``."""
    width, height = size
    info = VideoInfo(path=None, width=width, height=height, fps=Fraction(fps), time_base=Fraction(1, fps),
                     codec="h264", pix_fmt="yuv420p", container="mp4", frame_count=frames,
                     duration=frames / fps)
    with VideoWriter(path, info, mode=suffix_codec, preset="ultrafast") as writer:
        for i in range(frames):
            image = np.empty((height, width, 3), np.uint8)
            image[:] = colour
            x = (i * speed * 2) % max(1, width - 12)
            image[height // 3:height // 3 + 12, x:x + 12] = 255
            writer.write(image)
    return path


def method_videos(folder: Path, clip: str, frames: int = 50, **kwargs) -> dict[str, Path]:
    """One generated video per method of :data:`METHODS` for ``clip`` (different colour and speed each)."""
    folder.mkdir(parents=True, exist_ok=True)
    return {m: write_clip(folder / f"{clip}_{m}.mp4", COLOURS[i], frames, speed=i + 1, **kwargs)
            for i, m in enumerate(METHODS)}


def build_study(root: Path, clips: int = 2, frames: int = 50, **kwargs) -> Path:
    """A study in ``root / "study"`` with ``clips`` clips x 4 methods of ``frames`` frames at 25 fps."""
    inputs = StudyInputs()
    for c in range(clips):
        for method, path in method_videos(root / "src", f"clip{c}", frames).items():
            inputs.add(f"clip{c}", method, path)
    kwargs.setdefault("preset", "ultrafast")
    make_study(root / "study", inputs, **kwargs)
    return root / "study"


def shared_study(tmp_path_factory) -> Path:
    """One 2-clip study per pytest session, built on first use (its votes go to per-test databases)."""
    root = tmp_path_factory.getbasetemp() / "study_shared"
    if not (root / "study" / "study.json").is_file():
        build_study(root, clips=2, frames=50, min_view_seconds=0.5)
    return root / "study"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(study_dir: Path, db: Path, port: int, timeout: float = 15.0):
    """``python -m stngan.study serve`` in a subprocess, returned once it answers HTTP."""
    import http.client
    import subprocess
    import sys
    import time

    process = subprocess.Popen([sys.executable, "-m", "stngan.study", "serve", str(study_dir), "--port", str(port),
                                "--db", str(db), "--log-level", "warning"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"study server exited: {process.stdout.read().decode(errors='replace')}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/favicon.ico")
            conn.getresponse().read()
            conn.close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"study server did not answer on port {port} within {timeout} s")
