"""The one batch loop every runner shares: prepare in workers, put in this (the only) writer.

Each file is read (regular files only, at most the byte limit plus one) and hashed here; an id the
store already holds is skipped without sending any work, which is what makes a rerun resume. At
most `runner.capacity` preparations are in flight, so memory stays bounded on any corpus size.
Every put is one atomic store write, so stopping at any point (Ctrl-C here, a kill anywhere)
leaves only whole images behind.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from time import monotonic
from typing import Generic, Protocol, TypeVar

from pjstore import ids
from pjstore.batch.outcome import Outcome, Status
from pjstore.batch.summary import Summary, Tally
from pjstore.corpus import read_source
from pjstore.errors import PjstoreError
from pjstore.ingest import IngestOptions, Prepared, stored_record
from pjstore.storage import Storage


class Job(Protocol):
    """A future as concurrent.futures and dask.distributed both define it."""

    def result(self) -> Prepared: ...

    def cancel(self) -> object: ...


J = TypeVar("J", bound=Job)  # each runner's own future type: it is handed back only what it made


class Runner(Protocol, Generic[J]):
    capacity: int  # preparations to keep in flight: enough to keep every worker busy

    def submit(self, source: bytes, options: IngestOptions) -> J:
        """Run `ingest.prepare(source, options)` on a worker."""

    def wait_first(self, jobs: Collection[J]) -> Collection[J]:
        """Block until at least one of `jobs` is done; return the done ones."""

    def cancel(self, jobs: Collection[J]) -> None: ...


@dataclass(frozen=True)
class Item:
    """One file on its way through a worker (its bytes travel with the job, not kept here)."""

    path: Path
    image_id: str


def run_batch(store: Storage, paths: Iterable[Path], options: IngestOptions, runner: Runner[J],
              on_outcome: Callable[[Outcome], None] = lambda outcome: None) -> Summary:
    """Ingest `paths` through `runner`; report each file to `on_outcome`; never stop on bad input.

    Ctrl-C cancels the work not yet written and returns the summary so far, marked interrupted.
    """
    tally = Tally()
    started = monotonic()
    in_flight: dict[J, Item] = {}
    # Identical files in one batch are prepared once; the later paths wait on the first.
    followers: dict[str, list[Path]] = {}

    def emit(outcome: Outcome) -> None:
        tally.add(outcome)
        on_outcome(outcome)

    def collect(done: Collection[J]) -> None:
        for job in done:
            item = in_flight.pop(job)
            for outcome in _write(store, item, job, followers.pop(item.image_id)):
                emit(outcome)

    try:
        for path in paths:
            try:
                source = read_source(path, options.max_bytes)
            except (OSError, PjstoreError) as exc:
                emit(Outcome(path, Status.FAILED, error=exc))
                continue
            image_id = ids.image_id(source)
            if image_id in followers:
                followers[image_id].append(path)
                continue
            stored = stored_record(store, image_id)
            if stored is not None:
                emit(Outcome(path, Status.SKIPPED, image_id, stored))
                continue
            while len(in_flight) >= runner.capacity:
                collect(runner.wait_first(in_flight))
            in_flight[runner.submit(source, options)] = Item(path, image_id)
            followers[image_id] = []
        while in_flight:
            collect(runner.wait_first(in_flight))
    except KeyboardInterrupt:
        runner.cancel(in_flight)
        return tally.summary(monotonic() - started, interrupted=True)
    return tally.summary(monotonic() - started)


def _write(store: Storage, item: Item, job: Job, followers: list[Path]) -> list[Outcome]:
    """Put one finished preparation; outcomes for its path and any identical files after it."""
    try:
        prepared = job.result()
        created = store.put(prepared.record, prepared.blob)  # a StorageError (disk full...) fails this file only
        record = prepared.record if created else store.info(item.image_id)  # else another writer stored it
    except Exception as exc:  # a worker's refusal (PjstoreError) or crash; reported, never fatal
        return [Outcome(p, Status.FAILED, item.image_id, error=exc) for p in [item.path, *followers]]
    first = Outcome(item.path, Status.OK if created else Status.SKIPPED, item.image_id, record)
    return [first, *(Outcome(p, Status.SKIPPED, item.image_id, first.record) for p in followers)]
