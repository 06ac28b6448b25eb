"""The background refiners: processes working the store's refinement queue (pjstore.refine).

Each server worker starts `refine_workers` of them at a lower CPU priority than its upload pool,
so an upload's answer is not slowed by the searches of earlier ones. Each opens the store itself,
refines until the queue is empty, then polls it. A refiner that dies (a decoder crash on a hostile
file) is started again by a watching thread; its image's lease runs out and is taken over, at most
refine_queue.MAX_ATTEMPTS times. Refiners exit with their server worker, however it ends.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from multiprocessing.process import BaseProcess

from pjstore.errors import PjstoreError
from pjstore.ingest import IngestOptions
from pjstore.parent_watch import exit_with_parent
from pjstore.refine import refine_next
from pjstore.storage import open_storage

log = logging.getLogger("pjstore.server")

NICENESS = 10  # below the upload pool: uploads are answered first, searches use the idle CPU
POLL_SECONDS = 1.0  # an empty queue is looked at again so often
RESTART_PAUSE = 1.0  # seconds between a refiner's death and its replacement


def _work(location: str, options: IngestOptions, lease: float, parent: int) -> None:
    """A refiner process: refine queued images until its server worker goes."""
    exit_with_parent(parent)
    os.nice(NICENESS)
    logging.basicConfig(level=logging.INFO)
    with open_storage(location) as store:
        while True:
            try:
                done = refine_next(store, options, lease)
            except PjstoreError as exc:  # storage unreachable for a while: try again later
                log.warning("refinement paused: %s: %s", type(exc).__name__, exc)
                done = None
            if done is None:
                time.sleep(POLL_SECONDS)
            else:
                log.info("refinement of %s: %s in %.1f s", done.image_id, done.outcome.value, done.seconds)


class Refiners:
    def __init__(self, location: str, workers: int, options: IngestOptions, lease: float) -> None:
        self._args = (location, options, lease, os.getpid())
        self._stopping = threading.Event()
        self._context = multiprocessing.get_context("spawn")  # as the upload pool: no forked LMDB handles
        self._watchers = [threading.Thread(target=self._keep_one, name="pjstore-refiner", daemon=True)
                          for _ in range(workers)]
        self._processes: list[BaseProcess] = []
        self._lock = threading.Lock()
        for watcher in self._watchers:
            watcher.start()

    def _keep_one(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                if self._stopping.is_set():
                    return
                process = self._context.Process(target=_work, args=self._args, daemon=True)
                process.start()
                self._processes.append(process)
            process.join()
            with self._lock:
                self._processes.remove(process)
            if not self._stopping.is_set():
                log.warning("refiner %d exited with code %s; starting another", process.pid, process.exitcode)
                self._stopping.wait(RESTART_PAUSE)

    def close(self) -> None:
        """Stop every refiner now: an image being refined keeps its provisional record and entry."""
        with self._lock:
            self._stopping.set()
            processes = list(self._processes)
        for process in processes:
            process.kill()
        for watcher in self._watchers:
            watcher.join()
