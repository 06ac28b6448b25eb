"""What serving costs in stored bytes read: store-wide totals, and what one image's sizes share.

Used by the demo's table and the page's totals, so both say the same thing the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pjstore.record import ImageRecord


@dataclass(frozen=True)
class SizeRead:
    scale: float
    read_bytes: int  # stored bytes read to serve this size of every image

    def of(self, whole: int) -> float:
        return self.read_bytes / whole if whole else 0.0


@dataclass(frozen=True)
class Totals:
    images: int
    source_bytes: int  # the uploads
    stored_bytes: int  # the whole stored files
    sizes: tuple[SizeRead, ...]  # the scaled sizes every image has (the whole file left out)


def offset(record: ImageRecord, scale: float) -> int:
    """Bytes read for a stored scale, as the record promises (what the read path reads)."""
    return record.offsets.entry(scale).offset


def totals(records: Iterable[ImageRecord], read: Callable[[ImageRecord, float], int] = offset) -> Totals:
    """Totals over `records`; `read(record, scale)` says what serving a size reads (default: its offset)."""
    records = list(records)
    common = set.intersection(*(set(r.offsets.scales[:-1]) for r in records)) if records else set()
    sizes = tuple(SizeRead(s, sum(read(r, s) for r in records)) for s in sorted(common))
    return Totals(len(records), sum(r.source_bytes for r in records), sum(r.stored_bytes for r in records), sizes)


def one_prefix_for_all_sizes(record: ImageRecord) -> bool:
    """Every scaled size reads the same prefix: the first scans alone meet every size's target
    (typically the DC scan, an 1/8-scale image, for small or smooth images)."""
    scaled = {e.offset for e in record.offsets.entries[:-1]}
    return len(record.offsets.entries) > 2 and len(scaled) == 1
