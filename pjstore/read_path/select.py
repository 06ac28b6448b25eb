"""Step 1: pick the stored prefix that covers a request, and the exact output size."""

from __future__ import annotations

from dataclasses import dataclass

from pjstore.errors import InvalidRequest
from pjstore.offset_map import ScaleOffset
from pjstore.record import ImageRecord


@dataclass(frozen=True)
class Selection:
    entry: ScaleOffset  # the stored scale whose prefix is read
    size: tuple[int, int]  # exact output size, stored (pre-orientation) axes


def by_scale(record: ImageRecord, scale: float) -> Selection:
    """One of the record's scales (1.0 included), at its contract size."""
    try:
        entry = record.offsets.entry(scale)
    except KeyError:
        allowed = ", ".join(f"{s:g}" for s in record.offsets.scales)
        raise InvalidRequest(f"scale {scale:g} is not stored; choose one of {allowed}") from None
    return Selection(entry, (entry.width, entry.height))


def by_size(record: ImageRecord, width: int | None = None, height: int | None = None) -> Selection:
    """Any size up to the original, given as upright width or height (aspect ratio kept)."""
    if (width is None) == (height is None):
        raise InvalidRequest("give exactly one of width or height")
    swap = record.orientation >= 5
    up_w, up_h = (record.height, record.width) if swap else (record.width, record.height)
    if width is not None:
        if not 1 <= width <= up_w:
            raise InvalidRequest(f"width {width} outside 1..{up_w} (the original's width)")
        out = (width, max(1, round(up_h * width / up_w)))
    else:
        assert height is not None
        if not 1 <= height <= up_h:
            raise InvalidRequest(f"height {height} outside 1..{up_h} (the original's height)")
        out = (max(1, round(up_w * height / up_h)), height)
    size = (out[1], out[0]) if swap else out
    return Selection(record.offsets.covering(*size), size)
