"""Image ids: the hex SHA-256 of the uploaded bytes, validated before they reach storage."""

from __future__ import annotations

import hashlib
import re

from pjstore.errors import InvalidRequest

_ID = re.compile(r"[0-9a-f]{64}")


def image_id(source: bytes) -> str:
    return hashlib.sha256(source).hexdigest()


def validate(value: str) -> str:
    """Return `value` if it is a well-formed id; raise InvalidRequest otherwise."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidRequest(f"invalid image id {value[:80]!r}: expected 64 lowercase hex digits")
    return value
