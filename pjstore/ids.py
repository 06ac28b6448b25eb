"""Image ids: the hex SHA-256 of the uploaded bytes, validated before they reach storage, and
resolved from the unique prefixes people type."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from pjstore.errors import InvalidRequest, NotFound

if TYPE_CHECKING:
    from pjstore.storage import Storage

_ID = re.compile(r"[0-9a-f]{64}")


def image_id(source: bytes) -> str:
    return hashlib.sha256(source).hexdigest()


def validate(value: str) -> str:
    """Return `value` if it is a well-formed id; raise InvalidRequest otherwise."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidRequest(f"invalid image id {value[:80]!r}: expected 64 lowercase hex digits")
    return value


MIN_PREFIX = 6


def resolve(store: Storage, text: str) -> str:
    """A full id, or the one stored id starting with a prefix of at least MIN_PREFIX hex digits."""
    text = text.strip().lower()
    if len(text) == 64:
        return validate(text)
    if len(text) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in text):
        raise InvalidRequest(f"{text!r} is not an image id or a prefix of at least {MIN_PREFIX} hex digits")
    matches = [i for i in store.list(after=text, limit=2) if i.startswith(text)]
    if not matches:
        raise NotFound(f"no image id starts with {text}")
    if len(matches) > 1:
        raise InvalidRequest(f"{text} is ambiguous; give more digits")
    return matches[0]
