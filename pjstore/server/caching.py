"""HTTP caching for served images: strong ETags and `If-None-Match`.

A stored image never changes (its id is the hash of its source), so a rendition is fully named
by the id, the stored scale and prefix it is read from, its exact size, its recipe and (WebP/AVIF)
its format's encoding; the ETag hashes exactly those, so each format has its own, and responses
may be cached forever (a migrated record's new recipe gets a new ETag).
"""

from __future__ import annotations

import hashlib

CACHE_CONTROL = "public, max-age=31536000, immutable"


def etag(*parts: object) -> str:
    """A strong ETag naming one immutable representation."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:32]
    return f'"{digest}"'


def not_modified(if_none_match: str | None, tag: str) -> bool:
    """Whether an `If-None-Match` header value matches `tag` (weak comparison, as RFC 9110 says)."""
    if not if_none_match:
        return False
    candidates = {c.strip().removeprefix("W/") for c in if_none_match.split(",")}
    return "*" in candidates or tag in candidates
