"""Step 2: read only the stored prefix a scale needs, closed with an EOI marker."""

from __future__ import annotations

from pjstore.render.decode import EOI
from pjstore.storage import Storage


def read_prefix(store: Storage, image_id: str, offset: int, stored_bytes: int) -> bytes:
    """``stored[:offset]``, plus EOI unless the prefix is the whole file."""
    data = store.get_range(image_id, 0, offset)
    return data if offset >= stored_bytes else data + EOI
