"""HTTP `Range` for the stored original: one byte range, so a client can fetch just a prefix."""

from __future__ import annotations

import re

from pjstore.server.errors import ApiError

_SINGLE = re.compile(r"bytes=(\d*)-(\d*)")


def byte_range(header: str | None, length: int) -> tuple[int, int] | None:
    """[start, stop) asked for by `header`, or None to send the whole file.

    A header that is not one well-formed byte range (multiple ranges included) is ignored, as
    RFC 9110 allows; a well-formed range that lies wholly past the end raises a 416.
    """
    match = _SINGLE.fullmatch(header.strip()) if header else None
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # suffix range: the last N bytes
        if int(last) == 0:
            raise _unsatisfiable(length)
        return max(0, length - int(last)), length
    start = int(first)
    if last != "" and int(last) < start:
        return None  # not a valid range: ignored
    if start >= length:
        raise _unsatisfiable(length)
    return start, length if last == "" else min(length, int(last) + 1)


def _unsatisfiable(length: int) -> ApiError:
    return ApiError(416, "RangeNotSatisfiable", f"the stored file has {length} bytes",
                    {"Content-Range": f"bytes */{length}"})
