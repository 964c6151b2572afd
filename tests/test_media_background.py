"""Decode-ahead and encode-behind threads: order kept, errors raised in the caller, early exit stops them."""
import threading

import pytest

from stngan.media.background import BackgroundWriter, Prefetched


def test_prefetched_keeps_order_and_raises_the_readers_error():
    with Prefetched(range(100), depth=3) as items:
        assert list(items) == list(range(100))

    def broken():
        yield 1
        raise ValueError("corrupt packet")

    with Prefetched(broken()) as items, pytest.raises(ValueError, match="corrupt packet"):
        list(items)


def test_leaving_early_stops_the_prefetch_thread():
    started = threading.active_count()
    with Prefetched(iter(range(10**9)), depth=2) as items:
        for i in items:
            if i == 5:
                break
    assert threading.active_count() == started


class _Recorder:
    def __init__(self, fail_at: int | None = None) -> None:
        self.calls, self.fail_at = [], fail_at

    def write(self, image, frame) -> None:
        if frame == self.fail_at:
            raise OSError("disk full")
        self.calls.append((image, frame))


def test_background_writer_writes_everything_in_order_before_exit():
    rec = _Recorder()
    with BackgroundWriter(rec, depth=2) as writer:
        for i in range(50):
            writer.write(f"img{i}", i)
    assert rec.calls == [(f"img{i}", i) for i in range(50)]


def test_background_writer_error_reaches_the_caller():
    rec = _Recorder(fail_at=3)
    with pytest.raises(OSError, match="disk full"):
        with BackgroundWriter(rec) as writer:
            for i in range(10):
                writer.write("x", i)
    assert [f for _, f in rec.calls] == [0, 1, 2]  # nothing written after the failure
