"""The same batch on a Ray cluster: each file one Ray task asking for its CPUs (and a GPU with --device cuda).

Ray schedules, retries a task whose worker or node is lost (``max_retries``; a file's own error is a normal
result, never retried) and returns the records to this driver, which alone writes the job file. Inputs and
outputs must be on a path every node sees. The model is built inside each task (tasks hold no state).
"""
from __future__ import annotations

import builtins
import contextlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable

from stngan.batch.errors import BatchError
from stngan.batch.work import Task, limit_threads, lost_record, run_task

LOCAL = "local"


def ray_task(work, task: Task, threads: int) -> dict:
    limit_threads(threads)
    processor = work.open(threads)
    limit_threads(threads)
    return run_task(work, processor, work.record(), task)


def connect(address: str):
    """Use a Ray already initialised in this process (tests), start one here (``local``), or join a cluster."""
    try:
        import ray  # the optional extra stngan[ray]
    except ImportError:
        raise BatchError("--ray needs Ray: pip install 'stngan[ray]'") from None
    if ray.is_initialized():
        return ray, False
    try:
        if address == LOCAL:
            ray.init(num_cpus=len(os.sched_getaffinity(0)), include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise BatchError(f"--ray {address}: cannot connect to a Ray cluster ({' '.join(str(e).split())})") from None
    return ray, True


@contextlib.contextmanager
def kept_process_state():
    """Ray's driver changes process-wide state (print, excepthook, SIGTERM handler, warning filters,
    environment variables); put it back when Ray is gone, so a library caller (or a later test) sees none of it."""
    saved_print, saved_hook, saved_filters = builtins.print, sys.excepthook, warnings.filters[:]
    saved_env, saved_term = dict(os.environ), signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        builtins.print, sys.excepthook = saved_print, saved_hook
        warnings.filters[:] = saved_filters
        for key in set(os.environ) - set(saved_env):
            del os.environ[key]
        os.environ.update(saved_env)
        if saved_term is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, saved_term)


def run_ray(work, tasks: list[Task], address: str, threads: int, on_result: Callable[[dict], None],
            max_retries: int = 2) -> None:
    if not tasks:
        return
    with kept_process_state():
        _run(work, tasks, address, threads, on_result, max_retries)


def _run(work, tasks: list[Task], address: str, threads: int, on_result: Callable[[dict], None],
         max_retries: int) -> None:
    ray, started = connect(address)
    try:
        gpus = 1 if work.device == "cuda" else 0
        _check_fits(ray, threads, gpus)
        remote = ray.remote(ray_task).options(num_cpus=threads, num_gpus=gpus, max_retries=max_retries,
                                              retry_exceptions=False)
        work_ref = ray.put(work)
        pending = {remote.remote(work_ref, task, threads): task for task in tasks}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=min(len(pending), 64), timeout=0.5)
            for ref in ready:
                task = pending.pop(ref)
                try:
                    record = ray.get(ref)
                except ray.exceptions.RayError as e:  # the worker (or its node) died more often than max_retries
                    record = lost_record(work, task, f"Ray task lost after {max_retries} retries: "
                                                        f"{e.__class__.__name__}")
                on_result(record)
    finally:
        if started:
            ray.shutdown()


def _check_fits(ray, threads: int, gpus: int) -> None:
    """A task asking for more than any node has would wait forever: refuse it up front."""
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    if not any(r.get("CPU", 0) >= threads and r.get("GPU", 0) >= gpus for r in nodes):
        raise BatchError(f"no Ray node has {threads} CPUs" + (f" and {gpus} GPU" if gpus else "")
                         + "; lower --threads")
