"""The serving path: a stored image and a request in, a rendition out.

Select a scale from the record (`select`), read only its prefix (`prefix`), and hand the bytes to
the render core (`pjstore.render.pipeline.make_rendition`), which knows no storage.
"""

from __future__ import annotations

from dataclasses import dataclass

from pjstore import ids
from pjstore.read_path import select
from pjstore.read_path.prefix import read_prefix
from pjstore.record import ImageRecord
from pjstore.render.pipeline import make_rendition
from pjstore.rendition.formats import Encoding
from pjstore.rendition.recipe import Recipe
from pjstore.storage import Storage


@dataclass(frozen=True)
class Rendition:
    data: bytes  # a baseline JPEG, or WebP/AVIF where `encoding` says
    width: int  # served (upright) size
    height: int
    bytes_read: int  # stored bytes read to make it (the scale's offset)
    scale: float  # the stored scale it was made from
    recipe: Recipe  # what made it
    encoding: Encoding | None = None  # WebP/AVIF encoding of the recipe's pixels (None: JPEG)

    @property
    def format(self) -> str:
        return "jpeg" if self.encoding is None else self.encoding.format


def render(store: Storage, image_id: str, *, scale: float | None = None, width: int | None = None,
           height: int | None = None, format: str = "jpeg") -> Rendition:
    """Serve `image_id` at a stored `scale`, or at an upright `width` or `height`, as `format`."""
    record = store.info(ids.validate(image_id))
    chosen = select.by_scale(record, scale) if scale is not None else select.by_size(record, width, height)
    return render_selection(store, record, select.in_format(record, chosen, format))


def render_selection(store: Storage, record: ImageRecord, chosen: select.Selection) -> Rendition:
    """Serve a selection already made from `record` (the server has both before it renders)."""
    prefix = read_prefix(store, record.id, chosen.entry.offset, record.stored_bytes)
    data, (w, h) = make_rendition(prefix, chosen.recipe, chosen.size, record.orientation, chosen.encoding)
    return Rendition(data, w, h, chosen.entry.offset, chosen.entry.scale, chosen.recipe, chosen.encoding)
