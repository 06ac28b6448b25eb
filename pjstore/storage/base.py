"""The storage interface every backend implements (a thumbor-style drop-in).

A backend stores, per image id, the stored progressive file and its ImageRecord, written together
or not at all, and can return a byte range of the file without reading the rest. It also keeps the
refinement queue (pjstore.refine_queue): an entry per provisional record, written with it, claimed
under a lease, and dropped by the write that swaps the refined file and record in.

A swap replaces a file whose record readers may hold, so a range read can name the file it wants
(`stored_sha256`, the record's): it is checked in the same read as the bytes, and a reader never
gets a new file's bytes at an old record's offsets (StaleRecord instead: read the record again).
"""

from __future__ import annotations

from typing import Protocol

from pjstore.record import ImageRecord
from pjstore.refine_queue import QueueEntry


class Storage(Protocol):
    def put(self, record: ImageRecord, blob: bytes) -> bool:
        """Store atomically, with a queue entry if the record is provisional; False (and nothing
        written) if the id is already present."""

    def get_range(self, image_id: str, start: int, stop: int, stored_sha256: str | None = None) -> bytes:
        """Bytes [start, stop) of the stored file; raises NotFound, or StaleRecord when the file is
        no longer the one whose hash is `stored_sha256` (given: the record the caller holds)."""

    def swap(self, old: ImageRecord, record: ImageRecord, blob: bytes) -> bool:
        """Replace `old`'s stored file and record with these at once and drop its queue entry;
        False (the entry dropped, nothing else changed) when the image is gone or is no longer `old`'s file."""

    def queued(self) -> list[QueueEntry]:
        """Every queue entry."""

    def queue_depth(self, limit: int) -> int:
        """The number of queue entries, counted up to `limit`."""

    def enqueue(self, image_id: str, now: float) -> None:
        """Queue `image_id` afresh (attempts reset), as `fsck --repair` does for a provisional record without one."""

    def claim(self, now: float, lease: float) -> QueueEntry | None:
        """The oldest claimable entry, leased to the caller for `lease` seconds; None if there is none."""

    def renew(self, entry: QueueEntry, now: float, lease: float) -> bool:
        """Extend a lease `claim` returned; False when the entry is gone or was claimed again since."""

    def dequeue(self, image_id: str) -> bool:
        """Drop an entry; False if there was none."""

    def info(self, image_id: str) -> ImageRecord:
        """The record; raises NotFound."""

    def exists(self, image_id: str) -> bool: ...

    def replace_record(self, record: ImageRecord) -> None:
        """Atomically overwrite the record of a stored image (migration, repair); raises NotFound."""

    def delete(self, image_id: str) -> bool:
        """Remove file and record; False if absent."""

    def list(self, after: str | None = None, limit: int | None = None) -> list[str]:
        """Up to `limit` ids in ascending order, starting after `after`."""

    def close(self) -> None: ...

    def __enter__(self) -> Storage: ...

    def __exit__(self, *exc: object) -> None:
        """Close the store."""
