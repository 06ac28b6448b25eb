"""Where stored files and their records live. `open_storage` picks the backend from a location."""

from __future__ import annotations

import errno
import os

from pjstore.errors import NotFound
from pjstore.storage.base import Storage
from pjstore.storage.lmdb_store import LmdbStorage


def open_storage(location: str | os.PathLike, *, readonly: bool = False) -> Storage:
    """Open the store at `location` (the CLI and server settings say which: $PJSTORE_STORE is read there).

    `s3://BUCKET/PREFIX` is an S3-compatible bucket; anything else is an LMDB directory, made if
    missing unless `readonly` (then a missing store is NotFound, never created, and nothing is
    ever written). Raises StorageError when the store cannot be opened.
    """
    location = os.fspath(location)
    if location.startswith("s3://"):
        from pjstore.storage.s3_store import S3Storage  # boto3 is slow to import; only when used

        return S3Storage.from_url(location, readonly=readonly)
    if os.path.exists(location) and not os.path.isdir(location):
        raise NotADirectoryError(errno.ENOTDIR, "not a store directory", location)
    if readonly and not os.path.isfile(os.path.join(location, "data.mdb")):
        raise NotFound(f"no store at {location}")
    return LmdbStorage(location, readonly=readonly)


__all__ = ["Storage", "LmdbStorage", "open_storage"]
