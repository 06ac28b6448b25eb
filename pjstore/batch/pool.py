"""The local runner: `prepare` in a pool of worker processes on this machine."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Collection

from pjstore.ingest import IngestOptions, Prepared, prepare

_WATCH_SECONDS = 0.5


def default_workers() -> int:
    """All cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _init_worker(writer: int) -> None:
    # Ctrl-C is the writer's to handle: it cancels queued work and lets running work finish,
    # instead of every worker dying mid-task with its own traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # If the writer is killed outright, nothing would ever tell idle workers to exit. A watchdog
    # rather than prctl(PR_SET_PDEATHSIG): that is Linux-only and some sandboxed kernels accept
    # it without ever sending the signal (seen here). Comparing with the writer's pid also
    # catches a writer that died while this worker was still starting.
    threading.Thread(target=_exit_when_orphaned, args=(writer,), daemon=True).start()


def _exit_when_orphaned(writer: int) -> None:
    while os.getppid() == writer:
        time.sleep(_WATCH_SECONDS)
    os._exit(1)


class LocalPool:
    def __init__(self, workers: int | None = None):
        workers = workers or default_workers()
        # spawn: workers must not inherit the writer's open store (LMDB forbids use across fork).
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_init_worker, initargs=(os.getpid(),))
        self.capacity = 2 * workers

    def submit(self, source: bytes, options: IngestOptions) -> Future[Prepared]:
        return self._pool.submit(prepare, source, options)

    def wait_first(self, jobs: Collection[Future]) -> Collection[Future]:
        return wait(jobs, return_when=FIRST_COMPLETED).done

    def cancel(self, jobs: Collection[Future]) -> None:
        for job in jobs:
            job.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "LocalPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
