"""The read path end to end: a stored image and a requested size in, a baseline JPEG out."""

from __future__ import annotations

from dataclasses import dataclass

from pjstore import ids
from pjstore.read_path import select
from pjstore.read_path.colour import to_display
from pjstore.read_path.decode import decode
from pjstore.read_path.encode import DEFAULT_QUALITY, encode
from pjstore.read_path.orient import orient
from pjstore.read_path.prefix import read_prefix
from pjstore.read_path.scale import scale as resize
from pjstore.record import ImageRecord
from pjstore.storage import Storage


@dataclass(frozen=True)
class Rendition:
    data: bytes  # a baseline JPEG
    width: int  # served (upright) size
    height: int
    bytes_read: int  # stored bytes read to make it (the scale's offset)
    scale: float  # the stored scale it was made from


def render(store: Storage, image_id: str, *, scale: float | None = None, width: int | None = None,
           height: int | None = None, quality: int = DEFAULT_QUALITY, dct_scaling: bool = False) -> Rendition:
    """Serve `image_id` at a stored `scale`, or at an upright `width` or `height`."""
    record = store.info(ids.validate(image_id))
    chosen = select.by_scale(record, scale) if scale is not None else select.by_size(record, width, height)
    return render_selection(store, record, chosen, quality, dct_scaling)


def render_selection(store: Storage, record: ImageRecord, chosen: select.Selection,
                     quality: int = DEFAULT_QUALITY, dct_scaling: bool = False) -> Rendition:
    """Serve a selection already made from `record` (the server has both before it renders)."""
    prefix = read_prefix(store, record.id, chosen.entry.offset, record.stored_bytes)
    data, (w, h) = transcode(prefix, chosen.size, record.orientation, quality, dct_scaling)
    return Rendition(data, w, h, chosen.entry.offset, chosen.entry.scale)


def transcode(jpeg: bytes, size: tuple[int, int], orientation: int = 1, quality: int = DEFAULT_QUALITY,
              dct_scaling: bool = False) -> tuple[bytes, tuple[int, int]]:
    """The serving work on bytes already read (no storage): a baseline JPEG and its upright size."""
    image, icc = to_display(decode(jpeg, size, dct_scaling))
    image = orient(resize(image, size), orientation)
    return encode(image, quality, icc), image.size
