"""Uploads run `ingest.ingest` in a pool of processes, off the event loop (provisional recipes,
their search queued, unless the server refines nothing in the background: pjstore.server.refiner).

Ingesting is seconds of decoding and transcoding; in separate processes it neither blocks the
event loop nor competes for the GIL with the threads serving reads. Each pool process opens the
store itself (LMDB is multi-process safe) and does the whole of `ingest` there, so the server
adds no second copy of the write path and the stored file never travels back between processes.
A pool with a dead process (killed while idle, or a decoder crash on a hostile file) is
replaced, and the upload runs once more on the fresh pool (ingest is idempotent: the id is the
hash of the bytes); only if that process dies too does the upload fail with a 500, nothing stored.
At most `upload_queue` uploads wait for a pool process (beyond that: 503); one still waiting after
the request time limit is refused with 503 too, while one started is answered when done.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from pjstore.errors import PjstoreError
from pjstore.ingest import IngestOptions, ingest
from pjstore.parent_watch import exit_with_parent
from pjstore.record import ImageRecord
from pjstore.server.backpressure import RETRY_AFTER_SECONDS, Admission
from pjstore.server.timeouts import started_within
from pjstore.storage import Storage, open_storage

_stores: dict[str, Storage] = {}  # per pool process: the store, opened once


class IngestFailed(PjstoreError):
    """The process ingesting an upload died; nothing was stored."""


def _opened(location: str) -> Storage:
    """The store at `location`, opened once per pool process."""
    if location not in _stores:
        _stores[location] = open_storage(location)
    return _stores[location]


def _warm(location: str) -> None:
    _opened(location)


def _ingest_at(location: str, source: bytes, options: IngestOptions, provisional: bool) -> tuple[ImageRecord, bool]:
    """`ingest` into the store at `location`, run inside a pool process."""
    return ingest(_opened(location), source, options, provisional=provisional)


class IngestPool:
    def __init__(self, location: str, workers: int, waiting: int, provisional: bool) -> None:
        self._location, self._workers, self._provisional = location, workers, provisional
        self.admission = Admission(workers, waiting, "uploads")
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the server process has threads and an open LMDB environment, which a
        # forked child must not inherit. The parent watch: a server worker killed outright must
        # not leave its pool processes behind.
        pool = ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=exit_with_parent, initargs=(os.getpid(),))
        # Started now, not at the first upload: a spawned process takes seconds to import the write path.
        for _ in range(self._workers):
            pool.submit(_warm, self._location)
        return pool

    async def ingest(self, source: bytes, options: IngestOptions, timeout: float) -> tuple[ImageRecord, bool]:
        """`ingest(store, source, options)` in a pool process; raises its typed errors, 503 when
        too many uploads wait or this one has not started after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        for _ in range(2):  # a second pool only if the first was broken
            pool = self._pool
            try:
                job = self.admission.submit(pool, _ingest_at, self._location, source, options, self._provisional)
                return await started_within(job, max(0.0, deadline - time.monotonic()), "ingesting this upload",
                                            RETRY_AFTER_SECONDS)
            except BrokenProcessPool:
                self._replace(pool)
        raise IngestFailed("the process ingesting this upload died; nothing was stored")

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if self._pool is broken:  # not already replaced by another upload that saw it break
            self._pool = self._new_pool()
            broken.shutdown(wait=False)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
