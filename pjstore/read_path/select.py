"""Step 1: pick the stored prefix that covers a request, and the exact output size."""

from __future__ import annotations

from dataclasses import dataclass, replace

from pjstore.errors import InvalidRequest
from pjstore.offset_map import ScaleOffset
from pjstore.record import ImageRecord
from pjstore.rendition.recipe import Recipe

# Encoder quality added to the covering scale's recipe for a size between stored scales, where
# the recipe was not verified (measured by eval/arbitrary_sizes.py: the share of random widths meeting the target).
BETWEEN_SCALES_QUALITY = 3


@dataclass(frozen=True)
class Selection:
    entry: ScaleOffset  # the stored scale whose prefix is read
    size: tuple[int, int]  # exact output size, stored (pre-orientation) axes
    margin: int = 0  # encoder quality added to the stored scale's recipe

    @property
    def recipe(self) -> Recipe:
        own = self.entry.recipe
        return replace(own, quality=min(100, own.quality + self.margin)) if self.margin else own


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
    entry = record.offsets.covering(*size)
    # Served-contract recipes verified at their own size; 0.1.0's records are served as they were.
    between = size != (entry.width, entry.height) and record.contract == "served"
    return Selection(entry, size, BETWEEN_SCALES_QUALITY if between else 0)
