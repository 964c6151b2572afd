"""Works for the batch tests (imported by spawned workers and Ray workers, so a module of its own; no tests).

FakeWork copies an input to its output and counts how often each file was completed; a file whose bytes
start with b"corrupt" fails like a bad video. KillOnce makes the worker processing one file die (SIGKILL)
the first time, as if the machine lost it mid-run.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path


def log_line(log: Path, text: str) -> None:
    with open(log, "a") as f:  # O_APPEND: one short write per line, safe across processes
        f.write(text + "\n")


@dataclass(frozen=True)
class FakeWork:
    log: Path  # one line per completed file: "rel threads omp"
    tag: str = "v1"  # an option: changing it makes done files stale
    delay: float = 0.0
    command = "fake"
    device = "cpu"

    def record(self) -> dict:
        return {"command": self.command, "tag": self.tag}

    def output_for(self, src: Path, dst: Path) -> Path:
        if src.suffix != ".mp4":
            raise ValueError(f"{src}: not a video")
        return dst

    def check_output(self, src: Path, out: Path, overwrite: bool) -> None:
        if out.exists() and not overwrite:
            raise ValueError(f"{out} already exists; pass --overwrite to replace it")

    def open(self, threads: int):
        if self.tag == "broken":
            raise ValueError("no such model: /nowhere (a worker cannot start)")
        return _FakeProcessor(self, threads)


class _FakeProcessor:
    def __init__(self, work: FakeWork, threads: int) -> None:
        self.work, self.threads = work, threads

    def __call__(self, src: Path, dst: Path, rel: str) -> dict:
        data = src.read_bytes()
        if data.startswith(b"corrupt"):
            raise ValueError(f"{src}: cannot decode (corrupt file)")
        time.sleep(self.work.delay)
        dst.write_bytes(data + self.work.tag.encode())
        torch = sys.modules.get("torch")  # not imported: this work needs no torch, so workers start fast
        log_line(self.work.log, f"{rel} {self.threads} {os.environ.get('OMP_NUM_THREADS')} {torch is not None}")
        return {"frames": len(data), "faces": 1}


@dataclass(frozen=True)
class KillOnce:
    """Wraps a work: the first worker to start on ``victim`` is killed (a marker file says it happened)."""

    inner: object
    victim: str
    marker: Path
    always: bool = False  # kill on every attempt (the retries run out)

    @property
    def command(self) -> str:
        return self.inner.command

    @property
    def device(self) -> str:
        return self.inner.device

    def record(self) -> dict:
        return self.inner.record()

    def output_for(self, src: Path, dst: Path) -> Path:
        return self.inner.output_for(src, dst)

    def check_output(self, src: Path, out: Path, overwrite: bool) -> None:
        self.inner.check_output(src, out, overwrite)

    def open(self, threads: int):
        processor = self.inner.open(threads)

        def process(src: Path, dst: Path, rel: str) -> dict:
            if rel == self.victim:
                log_line(self.marker, f"attempt {os.getpid()}")
                if self.always or len(self.marker.read_text().splitlines()) == 1:
                    (dst.parent / f".{dst.name}.0123456789ab.partial").write_bytes(b"half a video")
                    os.kill(os.getpid(), signal.SIGKILL)
            stats = processor(src, dst, rel)
            log_line(self.marker.with_suffix(".done"), rel)  # completions: each file exactly once
            return stats

        return process
