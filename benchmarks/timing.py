"""The median time of repeated calls, shared by the benchmarks."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_time(fn: Callable[[], object], iters: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """Median seconds of ``iters`` calls of ``fn`` after one warm-up call; ``clock=time.thread_time`` measures
    the calling thread's CPU time (robust to other jobs on the machine)."""
    fn()
    times = []
    for _ in range(iters):
        t = clock()
        fn()
        times.append(clock() - t)
    return statistics.median(times)
