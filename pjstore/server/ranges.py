"""HTTP `Range` for the stored original: one byte range, so a client can fetch just a prefix."""

from __future__ import annotations

import re

from pjstore.server.errors import ApiError

_SINGLE = re.compile(r"bytes=([0-9]*)-([0-9]*)")
# Positions past any stored file: longer numbers are read as this, never parsed (int() refuses
# strings over 4300 digits, and parsing long ones costs quadratic time).
_FAR = 10**18


def byte_range(header: str | None, length: int) -> tuple[int, int] | None:
    """[start, stop) asked for by `header`, or None to send the whole file.

    A header that is not one well-formed byte range (multiple ranges included) is ignored, as
    RFC 9110 allows; a well-formed range that lies wholly past the end raises a 416.
    """
    match = _SINGLE.fullmatch(header.strip()) if header else None
    if match is None or match.groups() == ("", ""):
        return None
    first, last = (_position(g) for g in match.groups())
    if first is None:  # suffix range: the last N bytes
        if not last:  # N is 0 (an absent N was ignored above)
            raise _unsatisfiable(length)
        return max(0, length - last), length
    if last is not None and last < first:
        return None  # not a valid range: ignored
    if first >= length:
        raise _unsatisfiable(length)
    return first, length if last is None else min(length, last + 1)


def _position(digits: str) -> int | None:
    if not digits:
        return None
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) < 18 else _FAR


def _unsatisfiable(length: int) -> ApiError:
    return ApiError(416, "RangeNotSatisfiable", f"the stored file has {length} bytes",
                    {"Content-Range": f"bytes */{length}"})
