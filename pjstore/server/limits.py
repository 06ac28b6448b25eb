"""Reading an upload's bytes under the size limit, as raw `image/jpeg` or a multipart `file` field.

The limit is enforced while the body streams in: a declared Content-Length over the limit is
refused before anything is read, and an undeclared (chunked) body is cut off as soon as it passes
the limit, so an oversized upload never sits in memory whole.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from pjstore.errors import InvalidRequest, TooLarge
from pjstore.server.errors import ApiError

RAW_TYPES = ("image/jpeg", "image/pjpeg")
MULTIPART = "multipart/form-data"
FILE_FIELD = "file"


async def _limited(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The request body's chunks, raising TooLarge the moment their total passes `limit`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"request body of {declared} bytes exceeds the upload limit of {limit} bytes")
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise TooLarge(f"request body exceeds the upload limit of {limit} bytes")
        yield chunk


async def read_upload(request: Request, limit: int) -> bytes:
    """The uploaded JPEG's bytes; the body (multipart framing included) may be at most `limit` bytes."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type in RAW_TYPES:
        return b"".join([chunk async for chunk in _limited(request, limit)])
    if media_type == MULTIPART:
        return await _multipart_file(request, limit)
    raise ApiError(415, "UnsupportedMediaType",
                   f"send the JPEG as the body with Content-Type: image/jpeg, or as multipart "
                   f"form field {FILE_FIELD!r}; got {media_type or 'no Content-Type'}")


async def _multipart_file(request: Request, limit: int) -> bytes:
    parser = MultiPartParser(request.headers, _limited(request, limit), max_files=1, max_fields=8)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise InvalidRequest(f"malformed multipart body: {exc.message}") from None
    try:
        upload = form.get(FILE_FIELD)
        if not isinstance(upload, UploadFile):
            raise InvalidRequest(f"multipart body has no file field {FILE_FIELD!r}")
        return await upload.read()
    finally:
        await form.close()
