"""Refinement: a provisional upload's queued search, run in the background and swapped in.

`refine_next` claims the oldest queue entry (pjstore.refine_queue) under a lease, renewed by a
thread while the search runs; an entry whose image is gone or already searched (a stale one) is
dropped. The search is `ingest.refined`: the stored file re-laid out by the scheme and each
scale's recipe searched, as `pjstore ingest` does inline. File, record and entry are then swapped
in one write (Storage.swap), which does nothing if the image changed meanwhile, so a refiner killed
at any point leaves the provisional record, still served at its promise, and its entry, which the
next refiner takes over once the lease runs out.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from enum import Enum

from pjstore.errors import NotFound, PjstoreError, StaleRecord
from pjstore.ingest import IngestOptions, refined
from pjstore.refine_queue import QueueEntry
from pjstore.storage import Storage

log = logging.getLogger("pjstore.refine")


class Outcome(Enum):
    REFINED = "refined"
    STALE = "stale"  # the image was gone, already searched, or changed before the swap
    FAILED = "failed"  # the search refused the stored file: it stays provisional


@dataclass(frozen=True)
class Refinement:
    image_id: str
    outcome: Outcome
    seconds: float


class _Renewal:
    """A thread renewing `entry`'s lease every third of it until stopped."""

    def __init__(self, store: Storage, entry: QueueEntry, lease: float) -> None:
        self._stop = threading.Event()

        def renew() -> None:
            while not self._stop.wait(lease / 3):
                try:
                    if not store.renew(entry, time.time(), lease):
                        return  # taken over (this refiner stalled past its lease): the swap decides
                except PjstoreError as exc:  # a passing storage fault: the lease may lapse, nothing more
                    log.warning("cannot renew the lease of %s: %s", entry.image_id, exc)

        self._thread = threading.Thread(target=renew, name="pjstore-lease", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def refine_next(store: Storage, options: IngestOptions, lease: float) -> Refinement | None:
    """Refine the oldest claimable queued image; None when nothing is claimable."""
    entry = store.claim(time.time(), lease)
    if entry is None:
        return None
    started = time.monotonic()

    def done(outcome: Outcome) -> Refinement:
        return Refinement(entry.image_id, outcome, time.monotonic() - started)

    try:
        record = store.info(entry.image_id)
    except NotFound:
        record = None
    if record is None or not record.provisional:
        store.dequeue(entry.image_id)
        return done(Outcome.STALE)
    renewal = _Renewal(store, entry, lease)
    try:
        blob = store.get_range(record.id, 0, record.stored_bytes, record.stored_sha256)
        better = refined(record, blob, options)
    except StaleRecord:  # swapped since its record was read (a refiner whose lease had run out)
        store.dequeue(record.id)
        return done(Outcome.STALE)
    except PjstoreError as exc:
        log.error("refining %s failed, it stays provisional: %s: %s", record.id, type(exc).__name__, exc)
        store.dequeue(record.id)
        return done(Outcome.FAILED)
    finally:
        renewal.stop()
    swapped = store.swap(record, better.record, better.blob)
    return done(Outcome.REFINED if swapped else Outcome.STALE)
