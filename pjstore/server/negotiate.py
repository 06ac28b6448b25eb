"""Choosing a rendition's format from the request: an explicit `format=` wins, else `Accept`.

WebP and AVIF are offered only to clients that name them (`image/webp`, `image/avif`) with q > 0,
as browsers do for images; a wildcard (`*/*`, `image/*`) or no `Accept` at all gets baseline JPEG,
the universal fallback, so curl and old clients keep receiving JPEGs. Among the formats with the
highest q the one serving the fewest bytes for the row wins (its stored served bytes). When even
JPEG is refused (`image/jpeg;q=0`) and nothing else is available, JPEG is sent anyway (RFC 9110
allows a server to disregard Accept rather than answer 406).
"""

from __future__ import annotations

from pjstore.offset_map import ScaleOffset
from pjstore.rendition.formats import MEDIA_TYPES, MODERN

_JPEG_RANGES = ("image/jpeg", "image/*", "*/*")
MAX_ACCEPT_ITEMS = 64  # hostile headers cost little: later items are ignored


def accepted(header: str | None) -> dict[str, float]:
    """Media range -> q from an `Accept` value (malformed items and q-values are skipped)."""
    ranges: dict[str, float] = {}
    for item in (header or "").split(",")[:MAX_ACCEPT_ITEMS]:
        media, *params = (p.strip() for p in item.split(";"))
        if not media:
            continue
        q = 1.0
        for p in params:
            name, _, value = p.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(1.0, max(0.0, float(value)))
                except ValueError:
                    q = -1.0
        if q >= 0:
            ranges.setdefault(media.lower(), q)
    return ranges


def quality_of(fmt: str, ranges: dict[str, float]) -> float:
    """The q `ranges` give `fmt`: the most specific matching range's (modern formats: named only)."""
    names = _JPEG_RANGES if fmt == "jpeg" else (MEDIA_TYPES[fmt],)
    return next((ranges[n] for n in names if n in ranges), 0.0)


def negotiate(header: str | None, entry: ScaleOffset) -> str:
    """The format to serve `entry` in for this `Accept` header."""
    if not header:
        return "jpeg"
    ranges = accepted(header)
    served = {"jpeg": entry.served_bytes or 0} | {f: r.served_bytes for f in MODERN if (r := entry.format(f))}
    q = {f: quality_of(f, ranges) for f in served}
    best = max(q.values())
    if best <= 0:
        return "jpeg"
    return min((f for f in served if q[f] == best), key=lambda f: (served[f], f != "jpeg"))
