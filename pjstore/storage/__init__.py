"""Where stored files and their records live. `open_storage` picks the backend from a location."""

from __future__ import annotations

import os

from pjstore.storage.base import Storage
from pjstore.storage.lmdb_store import LmdbStorage

DEFAULT_LOCATION = "./pjstore-data"
ENV_VAR = "PJSTORE_STORE"


def open_storage(location: str | os.PathLike | None = None, readonly: bool = False) -> Storage:
    """Open the store at `location` (default: $PJSTORE_STORE, else ./pjstore-data).

    `s3://BUCKET/PREFIX` is an S3-compatible bucket; anything else is an LMDB directory.
    `readonly` (what read commands ask for): the store must exist, and nothing is ever written.
    Raises StorageError when the store cannot be opened.
    """
    location = os.fspath(location or os.environ.get(ENV_VAR) or DEFAULT_LOCATION)
    if location.startswith("s3://"):
        from pjstore.storage.s3_store import S3Storage  # boto3 is slow to import; only when used

        return S3Storage.from_url(location, readonly=readonly)
    return LmdbStorage(location, readonly=readonly)


__all__ = ["Storage", "LmdbStorage", "open_storage", "DEFAULT_LOCATION", "ENV_VAR"]
