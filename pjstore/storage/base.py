"""The storage interface every backend implements (a thumbor-style drop-in).

A backend stores, per image id, the stored progressive file and its ImageRecord, written together
or not at all, and can return a byte range of the file without reading the rest.
"""

from __future__ import annotations

from typing import Protocol

from pjstore.record import ImageRecord


class Storage(Protocol):
    def put(self, record: ImageRecord, blob: bytes) -> bool:
        """Store atomically; False (and nothing written) if the id is already present."""

    def get_range(self, image_id: str, start: int, stop: int) -> bytes:
        """Bytes [start, stop) of the stored file; raises NotFound."""

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
