"""The local runner: `prepare` in a pool of worker processes on this machine."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Collection
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from pjstore.ingest import IngestOptions, Prepared, prepare
from pjstore.parent_watch import exit_with_parent


def default_workers() -> int:
    """All cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _init_worker(writer: int) -> None:
    # Ctrl-C is the writer's to handle: it cancels queued work and lets running work finish,
    # instead of every worker dying mid-task with its own traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent(writer)  # a writer killed outright leaves no idle workers behind


class LocalPool:
    def __init__(self, workers: int | None = None):
        workers = workers or default_workers()
        # spawn: workers must not inherit the writer's open store (LMDB forbids use across fork).
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_init_worker, initargs=(os.getpid(),))
        self.capacity = 2 * workers

    def submit(self, source: bytes, options: IngestOptions) -> Future[Prepared]:
        return self._pool.submit(prepare, source, options)

    def wait_first(self, jobs: Collection[Future[Prepared]]) -> Collection[Future[Prepared]]:
        return wait(jobs, return_when=FIRST_COMPLETED).done

    def cancel(self, jobs: Collection[Future[Prepared]]) -> None:
        for job in jobs:
            job.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> LocalPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
