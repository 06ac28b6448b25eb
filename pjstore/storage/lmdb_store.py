"""The embedded default backend: one LMDB environment, blobs, records and the refinement queue in
three sub-databases (a store made before the queue gains it when first opened for writing).

Blob and record (and a provisional record's queue entry) go in one write transaction, so a crash
leaves either all or none; a swap checks the record, replaces both and drops the entry in one too,
and a range read naming a file's hash checks the record in the transaction that reads the bytes. Range
reads slice a zero-copy buffer into LMDB's memory map, so a prefix read touches only the pages
of the prefix, never the whole blob. LMDB's own locking lets several processes share a store.

The map (address space, not disk) starts small and doubles when a write finds it full, so no
process reserves more than about twice the data; a process whose map another one grew adopts
the new size. A store opened read-only writes nothing, works on a read-only mount, and must
already exist. Every LMDB error leaves here as a StorageError.
"""

from __future__ import annotations

import builtins
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import lmdb

from pjstore.errors import NotFound, StaleRecord, StorageError
from pjstore.record import ImageRecord
from pjstore.refine_queue import QueueEntry

INITIAL_MAP_SIZE = 64 << 20  # grows by doubling; an existing store opens with room to double
DATA_FILE, LOCK_FILE = "data.mdb", "lock.mdb"

T = TypeVar("T")


class _Gate:
    """Transactions pass it together; a map resize passes it alone, since LMDB allows a resize
    only while the process has no transaction open (readers hold zero-copy views of the map)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self._resizing = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._resizing)
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    @contextmanager
    def alone(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._resizing)
            self._resizing = True  # new transactions wait from here on, so this cannot starve
            self._cond.wait_for(lambda: self._active == 0)
        try:
            yield
        finally:
            with self._cond:
                self._resizing = False
                self._cond.notify_all()


class LmdbStorage:
    def __init__(self, path: str | os.PathLike, map_size: int | None = None, readonly: bool = False):
        self.path = os.fspath(path)
        self.readonly = readonly
        self._gate = _Gate()
        data = os.path.join(self.path, DATA_FILE)
        if readonly and not os.path.isfile(data):
            raise StorageError(f"no store at {self.path} (nothing is created by a read-only command)")
        try:
            if not readonly:
                os.makedirs(self.path, exist_ok=True)
            size = map_size or max(INITIAL_MAP_SIZE, 2 * _size(data))
            self._env = self._open(size)
            self._blobs = self._env.open_db(b"blobs", create=not readonly)
            self._records = self._env.open_db(b"records", create=not readonly)
            self._queue = self._queue_db()
        except lmdb.NotFoundError:
            raise StorageError(f"{self.path} is not a pjstore store (no blobs/records databases)") from None
        except (lmdb.Error, OSError) as exc:
            raise StorageError(f"cannot open the store at {self.path}: {exc}") from None

    def _queue_db(self) -> Any:
        """The queue's database; None in a store opened read-only from before the queue (nothing queued)."""
        try:
            return self._env.open_db(b"queue", create=not self.readonly)
        except lmdb.NotFoundError:
            return None

    def _open(self, map_size: int) -> lmdb.Environment:
        options: dict[str, Any] = dict(map_size=map_size, max_dbs=3, readonly=self.readonly, max_readers=256,
                                       subdir=True)
        if not self.readonly:
            return lmdb.open(self.path, **options)
        # Read-only: share the lock file writers made, so reads stay consistent with them; without
        # one (a copied store) or where it cannot be opened (permissions), read without locking,
        # never creating it. On a read-only mount LMDB itself reads without locks.
        if os.path.exists(os.path.join(self.path, LOCK_FILE)):
            try:
                return lmdb.open(self.path, **options)
            except lmdb.Error:
                pass
        return lmdb.open(self.path, lock=False, **options)

    def _run(self, work: Callable[[lmdb.Transaction], T], write: bool = False) -> T:
        """`work(txn)` in one transaction, growing or adopting the map size as LMDB asks."""
        while True:
            try:
                with self._gate.shared(), self._env.begin(write=write, buffers=True) as txn:
                    return work(txn)
            except lmdb.MapResizedError:  # another process grew the map: take its size
                self._resize(0)
            except lmdb.MapFullError:
                self._resize(2 * self._env.info()["map_size"])
            except lmdb.ReadonlyError:
                raise StorageError(f"the store at {self.path} was opened read-only") from None
            except lmdb.Error as exc:
                raise StorageError(f"store {self.path}: {exc}") from None

    def _resize(self, size: int) -> None:
        with self._gate.alone():
            try:
                self._env.set_mapsize(size)
            except lmdb.Error as exc:
                raise StorageError(f"cannot grow the store's map to {size} bytes: {exc}") from None

    def put(self, record: ImageRecord, blob: bytes) -> bool:
        key = record.id.encode()

        def put(txn: lmdb.Transaction) -> bool:
            if txn.get(key, db=self._records) is not None:
                return False
            txn.put(key, blob, db=self._blobs)
            txn.put(key, record.dumps(), db=self._records)
            if record.provisional:
                txn.put(key, QueueEntry(record.id, time.time()).dumps(), db=self._queue)
            return True

        return self._run(put, write=True)

    def get_range(self, image_id: str, start: int, stop: int, stored_sha256: str | None = None) -> bytes:
        def get(txn: lmdb.Transaction) -> bytes:
            key = image_id.encode()
            view = txn.get(key, db=self._blobs)
            if view is None:
                raise NotFound(f"no image {image_id}")
            if stored_sha256 is not None and _stored_sha256(txn.get(key, db=self._records)) != stored_sha256:
                raise StaleRecord(f"image {image_id} was refined since its record was read")
            return bytes(view[start:stop])  # copies only the requested range

        return self._run(get)

    def swap(self, old: ImageRecord, record: ImageRecord, blob: bytes) -> bool:
        key = old.id.encode()

        def swap(txn: lmdb.Transaction) -> bool:
            txn.delete(key, db=self._queue)
            if _stored_sha256(txn.get(key, db=self._records)) != old.stored_sha256:
                return False
            txn.put(key, blob, db=self._blobs)
            txn.put(key, record.dumps(), db=self._records)
            return True

        return self._run(swap, write=True)

    def queued(self) -> builtins.list[QueueEntry]:
        if self._queue is None:
            return []
        return self._run(lambda txn: [QueueEntry.loads(v) for _, v in txn.cursor(db=self._queue).iternext()])

    def queue_depth(self, limit: int) -> int:
        if self._queue is None:
            return 0
        return min(limit, self._run(lambda txn: txn.stat(self._queue)["entries"]))

    def enqueue(self, image_id: str, now: float) -> None:
        self._run(lambda txn: txn.put(image_id.encode(), QueueEntry(image_id, now).dumps(), db=self._queue),
                  write=True)

    def claim(self, now: float, lease: float) -> QueueEntry | None:
        def claim(txn: lmdb.Transaction) -> QueueEntry | None:
            entries = [QueueEntry.loads(v) for _, v in txn.cursor(db=self._queue).iternext()]
            free = [e for e in entries if e.claimable(now)]
            if not free:
                return None
            entry = min(free, key=lambda e: e.enqueued).claimed(now, lease)
            txn.put(entry.image_id.encode(), entry.dumps(), db=self._queue)
            return entry

        return self._run(claim, write=True)

    def renew(self, entry: QueueEntry, now: float, lease: float) -> bool:
        def renew(txn: lmdb.Transaction) -> bool:
            raw = txn.get(entry.image_id.encode(), db=self._queue)
            if raw is None or QueueEntry.loads(raw).attempts != entry.attempts:
                return False
            txn.put(entry.image_id.encode(), entry.renewed(now, lease).dumps(), db=self._queue)
            return True

        return self._run(renew, write=True)

    def dequeue(self, image_id: str) -> bool:
        if self._queue is None:
            return False
        return self._run(lambda txn: txn.delete(image_id.encode(), db=self._queue), write=True)

    def info(self, image_id: str) -> ImageRecord:
        def info(txn: lmdb.Transaction) -> ImageRecord:
            raw = txn.get(image_id.encode(), db=self._records)
            if raw is None:
                raise NotFound(f"no image {image_id}")
            return ImageRecord.loads(raw)

        return self._run(info)

    def exists(self, image_id: str) -> bool:
        return self._run(lambda txn: txn.get(image_id.encode(), db=self._records) is not None)

    def delete(self, image_id: str) -> bool:
        key = image_id.encode()

        def delete(txn: lmdb.Transaction) -> bool:
            found = txn.delete(key, db=self._records)
            txn.delete(key, db=self._blobs)
            txn.delete(key, db=self._queue)
            return found

        return self._run(delete, write=True)

    def list(self, after: str | None = None, limit: int | None = None) -> list[str]:
        def page(txn: lmdb.Transaction) -> list[str]:
            ids: list[str] = []
            cursor = txn.cursor(db=self._records)
            positioned = cursor.set_range(after.encode()) if after else cursor.first()
            while positioned and (limit is None or len(ids) < limit):
                key = bytes(cursor.key()).decode()
                if key != after:
                    ids.append(key)
                positioned = cursor.next()
            return ids

        return self._run(page)

    def replace_record(self, record: ImageRecord) -> None:
        """Overwrite the record of an image whose blob is present (one write transaction)."""
        def replace(txn: lmdb.Transaction) -> None:
            if txn.get(record.id.encode(), db=self._blobs) is None:
                raise NotFound(f"no blob for {record.id}")
            txn.put(record.id.encode(), record.dumps(), db=self._records)

        self._run(replace, write=True)

    # Maintenance for fsck; not part of the Storage interface.

    def orphan_blobs(self) -> builtins.list[str]:  # builtins: `list` here is the method above
        """Blob keys with no record (a put is atomic, so only damage or bugs leave these)."""
        return self._run(lambda txn: [bytes(k).decode() for k in txn.cursor(db=self._blobs).iternext(values=False)
                                      if txn.get(k, db=self._records) is None])

    def remove_blob(self, image_id: str) -> None:
        self._run(lambda txn: txn.delete(image_id.encode(), db=self._blobs), write=True)

    def close(self) -> None:
        self._env.close()

    def __enter__(self) -> LmdbStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stored_sha256(raw: bytes | memoryview | None) -> str | None:
    """The stored file hash a stored record names (None: no record), by its key alone."""
    return None if raw is None else ImageRecord.loads(raw).stored_sha256


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
