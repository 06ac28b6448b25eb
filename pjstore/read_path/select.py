"""Step 1: pick the stored prefix that covers a request, and the exact output size."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from pjstore.errors import InvalidRequest
from pjstore.offset_map import ScaleOffset
from pjstore.record import ImageRecord
from pjstore.rendition.formats import Encoding
from pjstore.rendition.recipe import Recipe

# Encoder quality added for a size between stored scales, where no recipe was verified; measured
# by eval/served.py (the share of random widths meeting the threshold).
BETWEEN_SCALES_QUALITY = 4
# Thumbnails this small are mostly block edges to JPEG and cost few bytes at any quality: they get
# quality 100 (on the shared photos, icons of 2-25 px missed the target by up to 1.7 dB otherwise).
TINY_PIXELS = 64 * 64


@dataclass(frozen=True)
class Selection:
    entry: ScaleOffset  # the stored scale whose prefix is read
    size: tuple[int, int]  # exact output size, stored (pre-orientation) axes
    recipe: Recipe  # what renders it
    encoding: Encoding | None = None  # WebP/AVIF: how the recipe's pixels are encoded (None: JPEG)

    @property
    def format(self) -> str:
        return "jpeg" if self.encoding is None else self.encoding.format


def between(covering: ScaleOffset, below: ScaleOffset | None, size: tuple[int, int]) -> Recipe:
    """The recipe for a `size` below `covering`'s own (and above `below`'s, if any): its prefix and
    decode, encoded as well as either neighbour verified plus a margin, since a smaller picture of
    the same scene packs more detail per pixel and needs a higher quality than the covering one.
    The margin grows with each halving below the covering size (sizes under the smallest scale)."""
    own = covering.recipe
    recipes = [own] + ([below.recipe] if below else [])
    quality = raised(max(r.quality for r in recipes), covering, size)
    # Under the smallest scale chroma detail is as dense as luma's: keep it all (a small cost there).
    full_chroma = below is None or any(r.subsampling == "4:4:4" for r in recipes)
    subsampling = "4:4:4" if full_chroma else own.subsampling
    return replace(own, quality=quality, subsampling=subsampling)


def raised(quality: int, covering: ScaleOffset, size: tuple[int, int]) -> int:
    """A verified quality raised for a smaller `size` than `covering`'s: the margin per halving."""
    if size[0] * size[1] <= TINY_PIXELS:
        return 100
    halvings = max(1.0, math.log2(max(covering.width / size[0], covering.height / size[1])))
    return min(100, quality + math.ceil(BETWEEN_SCALES_QUALITY * halvings))


def in_format(record: ImageRecord, chosen: Selection, fmt: str) -> Selection:
    """`chosen` served as `fmt`: the row's verified WebP/AVIF setting (at its own size), raised as
    `between` raises JPEG's for other sizes (the same margin, assumed, not measured per format)."""
    if fmt == "jpeg":
        return chosen
    stored = chosen.entry.format(fmt)
    if stored is None:
        raise InvalidRequest(f"image {record.id[:12]} has no {fmt} renditions stored (written before "
                             f"formats, or not under the served contract); `pjstore migrate` adds them")
    encoding = stored.encoding
    if chosen.size != (chosen.entry.width, chosen.entry.height):
        entries = record.offsets.entries
        index = entries.index(chosen.entry)
        below = entries[index - 1].format(fmt) if index else None
        best = max(encoding.quality, below.encoding.quality if below else 0)
        encoding = replace(encoding, quality=raised(best, chosen.entry, chosen.size))
    return replace(chosen, encoding=encoding)


def by_scale(record: ImageRecord, scale: float) -> Selection:
    """One of the record's scales (1.0 included), at its contract size."""
    try:
        entry = record.offsets.entry(scale)
    except KeyError:
        allowed = ", ".join(f"{s:g}" for s in record.offsets.scales)
        raise InvalidRequest(f"scale {scale:g} is not stored; choose one of {allowed}") from None
    return Selection(entry, (entry.width, entry.height), entry.recipe)


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
    if size == (entry.width, entry.height) or record.contract != "served":  # 0.1.0's: served as they were
        return Selection(entry, size, entry.recipe)
    entries = record.offsets.entries
    index = entries.index(entry)
    return Selection(entry, size, between(entry, entries[index - 1] if index else None, size))
