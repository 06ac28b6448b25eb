"""Step 2: read only the stored prefix a scale needs, closed with an EOI marker."""

from __future__ import annotations

from pjstore.record import ImageRecord
from pjstore.render.decode import EOI
from pjstore.storage import Storage


def read_range(store: Storage, record: ImageRecord, start: int, stop: int) -> bytes:
    """Bytes [start, stop) of `record`'s stored file. A provisional record's file is replaced when its
    search is swapped in, so the read names it (StaleRecord if it is gone: read the record again)."""
    return store.get_range(record.id, start, stop, record.stored_sha256 if record.provisional else None)


def read_prefix(store: Storage, record: ImageRecord, offset: int) -> bytes:
    """``stored[:offset]``, plus EOI unless the prefix is the whole file."""
    data = read_range(store, record, 0, offset)
    return data if offset >= record.stored_bytes else data + EOI
