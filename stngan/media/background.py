"""Decode ahead and encode behind on their own threads, so a frame loop's own work overlaps both.

FFmpeg (through PyAV) releases the GIL while it decodes and encodes, so a thread per end keeps another core
busy while the loop runs detection or the generator. Both ends are bounded queues: memory stays flat, and
frames keep their order. An error on either thread is raised in the caller at its next call; leaving the
``with`` block early (an error or Ctrl-C in the loop) stops the threads without writing anything more.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

_END = object()


class Prefetched:
    """Iterate ``items`` (e.g. a VideoReader) on a background thread, up to ``depth`` items ahead."""

    def __init__(self, items: Iterable, depth: int = 4) -> None:
        self._items = items
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stngan-prefetch", daemon=True)

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._items:
                if not self._put((item, None)):
                    return
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, raised there
            self._put((_END, e))
            return
        self._put((_END, None))

    def __enter__(self) -> Prefetched:
        self._thread.start()
        return self

    def __iter__(self) -> Iterator:
        while True:
            item, error = self._queue.get()
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class BackgroundWriter:
    """``write(*args)`` hands the call to ``writer.write`` on a background thread (``depth`` calls queued)."""

    def __init__(self, writer: Any, depth: int = 4) -> None:
        self._writer = writer
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="stngan-encode", daemon=True)

    def _run(self) -> None:
        while True:
            args = self._queue.get()
            if args is _END:
                return
            if self._error is None:
                try:
                    self._writer.write(*args)
                except BaseException as e:  # noqa: BLE001 - raised in the caller at its next call
                    self._error = e

    def __enter__(self) -> BackgroundWriter:
        self._thread.start()
        return self

    def write(self, *args: Any) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(args)

    def __exit__(self, *exc) -> None:
        self._queue.put(_END)
        self._thread.join()
        if self._error is not None and exc[0] is None:
            raise self._error

    def __getattr__(self, name: str) -> Any:  # size, path, ... of the wrapped writer
        return getattr(self._writer, name)
