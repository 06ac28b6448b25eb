"""The embedded default backend: one LMDB environment, blobs and records in two sub-databases.

Blob and record go in one write transaction, so a crash leaves either both or neither. Range
reads slice a zero-copy buffer into LMDB's memory map, so a prefix read touches only the pages
of the prefix, never the whole blob. LMDB's own locking lets several processes share a store.
"""

from __future__ import annotations

import os
import lmdb

from pjstore.errors import NotFound
from pjstore.record import ImageRecord

DEFAULT_MAP_SIZE = 1 << 40  # address space only; the file grows with the data


class LmdbStorage:
    def __init__(self, path: str | os.PathLike, map_size: int = DEFAULT_MAP_SIZE, readonly: bool = False):
        os.makedirs(path, exist_ok=True)
        self.path = os.fspath(path)
        self._env = lmdb.open(self.path, map_size=map_size, max_dbs=2, readonly=readonly,
                              max_readers=256, subdir=True)
        self._blobs = self._env.open_db(b"blobs", create=not readonly)
        self._records = self._env.open_db(b"records", create=not readonly)

    def put(self, record: ImageRecord, blob: bytes) -> bool:
        key = record.id.encode()
        with self._env.begin(write=True) as txn:
            if txn.get(key, db=self._records) is not None:
                return False
            txn.put(key, blob, db=self._blobs)
            txn.put(key, record.dumps(), db=self._records)
        return True

    def get_range(self, image_id: str, start: int, stop: int) -> bytes:
        with self._env.begin(buffers=True) as txn:
            view = txn.get(image_id.encode(), db=self._blobs)
            if view is None:
                raise NotFound(f"no image {image_id}")
            return bytes(view[start:stop])  # copies only the requested range

    def info(self, image_id: str) -> ImageRecord:
        with self._env.begin(buffers=True) as txn:
            raw = txn.get(image_id.encode(), db=self._records)
            if raw is None:
                raise NotFound(f"no image {image_id}")
            return ImageRecord.loads(raw)

    def exists(self, image_id: str) -> bool:
        with self._env.begin(buffers=True) as txn:
            return txn.get(image_id.encode(), db=self._records) is not None

    def delete(self, image_id: str) -> bool:
        key = image_id.encode()
        with self._env.begin(write=True) as txn:
            found = txn.delete(key, db=self._records)
            txn.delete(key, db=self._blobs)
        return found

    def list(self, after: str | None = None, limit: int | None = None) -> list[str]:
        ids: list[str] = []
        with self._env.begin() as txn:
            cursor = txn.cursor(db=self._records)
            positioned = cursor.set_range(after.encode()) if after else cursor.first()
            while positioned and (limit is None or len(ids) < limit):
                key = cursor.key().decode()
                if key != after:
                    ids.append(key)
                positioned = cursor.next()
        return ids

    def replace_record(self, record: ImageRecord) -> None:
        """Overwrite the record of an image whose blob is present (one write transaction)."""
        with self._env.begin(write=True) as txn:
            if txn.get(record.id.encode(), db=self._blobs) is None:
                raise NotFound(f"no blob for {record.id}")
            txn.put(record.id.encode(), record.dumps(), db=self._records)

    # Maintenance for fsck; not part of the Storage interface.

    def orphan_blobs(self) -> list[str]:
        """Blob keys with no record (a put is atomic, so only damage or bugs leave these)."""
        with self._env.begin() as txn:
            return [k.decode() for k in txn.cursor(db=self._blobs).iternext(values=False)
                    if txn.get(k, db=self._records) is None]

    def remove_blob(self, image_id: str) -> None:
        with self._env.begin(write=True) as txn:
            txn.delete(image_id.encode(), db=self._blobs)

    def close(self) -> None:
        self._env.close()

    def __enter__(self) -> "LmdbStorage":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
