"""N worker processes on this machine, each on its share of the cores, each building its model once.

Own small pool rather than ProcessPoolExecutor: a worker that dies (segfault in a decoder, OOM kill) only
costs its current file, which is retried ``retries`` times and then recorded as failed, and a new worker
takes its place; ProcessPoolExecutor would break the whole pool. Workers are spawned, not forked: the
parent may hold torch/OpenMP threads, and a fork after threads have started can deadlock.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import signal
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait

from stngan.batch.errors import BatchError
from stngan.batch.work import Task, limit_threads, lost_record, one_line, remove_partials, run_task

READY, RESULT, BROKEN = "ready", "result", "broken"


def worker_main(conn: Connection, threads: int, work_blob: bytes) -> None:
    """A worker process: set its threads before the work is unpickled (that imports torch), then serve.

    Ctrl-C reaches the whole process group; the parent alone handles it (it records what is done and
    terminates the workers), so a worker ignores it instead of printing a traceback per process. The
    parent's terminate (SIGTERM) becomes SystemExit, so the writer of the current file removes its
    temporary file and the process exits through its normal clean-up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_term)
    limit_threads(threads)
    try:
        work = pickle.loads(work_blob)
        processor, options = work.open(threads), work.record()
    except Exception as e:  # noqa: BLE001 - reported to the parent as the reason the batch cannot start
        conn.send((BROKEN, one_line(e)))
        return
    limit_threads(threads)
    conn.send((READY, None))
    while (task := conn.recv()) is not None:
        conn.send((RESULT, run_task(work, processor, options, task)))


def _exit_on_term(signum, frame) -> None:
    raise SystemExit(128 + signum)


@dataclass(eq=False)
class _Worker:
    process: multiprocessing.Process
    conn: Connection
    task: Task | None = None


@dataclass
class _Queue:
    tasks: deque
    attempts: dict = field(default_factory=dict)  # rel -> worker deaths while processing it


def run_local(work, tasks: list[Task], jobs: int, threads: int, on_result: Callable[[dict], None],
              retries: int = 1) -> None:
    """Process ``tasks`` on ``jobs`` worker processes of ``threads`` threads; each record goes to ``on_result``."""
    if not tasks:
        return
    ctx = multiprocessing.get_context("spawn")
    blob = pickle.dumps(work)
    queue = _Queue(deque(tasks))
    workers: list[_Worker] = []
    retired: list[_Worker] = []  # sent their stop; joined at the end

    def start() -> None:
        parent, child = ctx.Pipe()
        process = ctx.Process(target=worker_main, args=(child, threads, blob), daemon=True, name="stngan-batch")
        process.start()
        child.close()  # so the parent's end reads EOF when the worker dies
        workers.append(_Worker(process, parent))

    def assign(worker: _Worker) -> None:
        worker.task = queue.tasks.popleft() if queue.tasks else None
        try:
            worker.conn.send(worker.task)
        except OSError:  # it died since its last message: its task goes back to the queue
            if worker.task is not None:
                return lost(worker)
        if worker.task is None:
            workers.remove(worker)
            retired.append(worker)

    def lost(worker: _Worker) -> None:
        worker.process.join(5)
        workers.remove(worker)
        worker.conn.close()
        task = worker.task
        if task is None:
            raise BatchError(f"a worker process died before it started (exit code {worker.process.exitcode})")
        deaths = queue.attempts[task.rel] = queue.attempts.get(task.rel, 0) + 1
        if deaths > retries:
            on_result(lost_record(work, task, f"worker process died {deaths} times on this file "
                                                 f"(exit code {worker.process.exitcode})"))
        else:
            queue.tasks.appendleft(task)
        if queue.tasks:
            start()

    try:
        for _ in range(min(jobs, len(tasks))):
            start()
        while workers:
            for conn in wait([w.conn for w in workers]):
                worker = next(w for w in workers if w.conn is conn)
                try:
                    kind, payload = conn.recv()
                except (EOFError, OSError):
                    lost(worker)
                    continue
                if kind == BROKEN:
                    raise BatchError(f"a worker could not start: {payload}")
                if kind == RESULT:
                    on_result(payload)
                assign(worker)
    finally:
        _stop(work, workers, retired)


def _stop(work, active: list[_Worker], retired: list[_Worker]) -> None:
    """Busy workers (an error or Ctrl-C in the parent) are terminated; the others stop on their own."""
    for worker in active:
        worker.process.terminate()
    for worker in active + retired:
        worker.process.join(10)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.conn.close()
        if worker in active and worker.task is not None:
            with contextlib.suppress(ValueError):
                remove_partials(work.output_for(worker.task.src, worker.task.dst))
