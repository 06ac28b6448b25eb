"""Where stored files and their records live. `open_storage` picks the backend from a location."""

from __future__ import annotations

import os

from pjstore.storage.base import Storage
from pjstore.storage.lmdb_store import LmdbStorage

DEFAULT_LOCATION = "./pjstore-data"
ENV_VAR = "PJSTORE_STORE"


def open_storage(location: str | os.PathLike | None = None) -> Storage:
    """Open the store at `location` (default: $PJSTORE_STORE, else ./pjstore-data)."""
    location = os.fspath(location or os.environ.get(ENV_VAR) or DEFAULT_LOCATION)
    return LmdbStorage(location)


__all__ = ["Storage", "LmdbStorage", "open_storage", "DEFAULT_LOCATION", "ENV_VAR"]
