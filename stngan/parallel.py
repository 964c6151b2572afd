"""The one process-pool runner of the preparers (dataset shards in :mod:`stngan.data.prepare.engine`,
synthetic image chunks in :mod:`stngan.synthetic.prepare`): jobs run in spawned worker processes and report
progress through a queue to the parent's progress bar; a worker's exception is raised in the parent."""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from tqdm import tqdm

Job = TypeVar("Job")
Result = TypeVar("Result")
Progress = Callable[[int], None]


class QueueTick:
    """Picklable progress callback for worker processes: batches counts into a manager queue."""

    def __init__(self, queue: Any, every_s: float = 0.2) -> None:
        self.queue, self.every_s, self.pending, self.last = queue, every_s, 0, 0.0

    def __call__(self, n: int) -> None:
        self.pending += n
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self.queue.put(self.pending)
            self.pending, self.last = 0, now

    def flush(self) -> None:
        if self.pending:
            self.queue.put(self.pending)
            self.pending = 0


def _in_worker(fn: Callable[[Job, Progress], Result], job: Job, tick: QueueTick) -> Result:
    try:
        return fn(job, tick)
    finally:
        tick.flush()


def _drain(queue: Any, bar: tqdm) -> None:
    while not queue.empty():
        bar.update(queue.get())


def run_jobs(fn: Callable[[Job, Progress], Result], jobs: Sequence[Job], workers: int, bar: tqdm) -> list[Result]:
    """``[fn(job, progress) for job in jobs]``, in this process when ``workers`` is 1 (or there is one job),
    else in ``min(workers, len(jobs))`` spawned processes; ``fn`` must be a module-level function and calls
    ``progress(n)`` for every n units done. Results in job order."""
    if workers <= 1 or len(jobs) <= 1:
        return [fn(job, bar.update) for job in jobs]
    ctx = mp.get_context("spawn")  # never fork a process that holds threads (torch, OpenVINO) or open files
    with ctx.Manager() as manager, cf.ProcessPoolExecutor(min(workers, len(jobs)), mp_context=ctx) as pool:
        queue = manager.Queue()
        futures = [pool.submit(_in_worker, fn, job, QueueTick(queue)) for job in jobs]
        pending = set(futures)
        try:
            while pending:
                done, pending = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
                _drain(queue, bar)
                for f in done:
                    f.result()  # re-raise a worker's error here
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        _drain(queue, bar)
        return [f.result() for f in futures]
