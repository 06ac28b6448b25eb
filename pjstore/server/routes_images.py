"""The `/v1/images` endpoints: upload, serve at a scale or size, info, original, list, delete.

Most read handlers are plain functions, so FastAPI runs them in its thread pool. Serving an
image answers a matching `If-None-Match` on the event loop (the record is a small LMDB read) and
renders in at most `render_threads` threads per worker: Pillow releases the GIL while decoding and
encoding, the bound keeps memory in check (rendering a 100 MP original holds about 0.5 GB), and
waiting requests are served first come, first served, at most `render_queue` of them (then 503).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from pjstore import ids
from pjstore.errors import InvalidRequest, NotFound, PjstoreError
from pjstore.read_path import select
from pjstore.read_path.original import handed_out
from pjstore.read_path.serve import render_selection
from pjstore.record import ImageRecord
from pjstore.rendition.formats import FORMATS, MEDIA_TYPES, parse_format
from pjstore.server.auth import require_key, require_signature
from pjstore.server.caching import CACHE_CONTROL, etag, not_modified
from pjstore.server.errors import ApiError
from pjstore.server.limits import FILE_FIELD, read_upload
from pjstore.server.negotiate import negotiate
from pjstore.server.ranges import byte_range
from pjstore.server.state import State
from pjstore.server.timeouts import received_within, result_within
from pjstore.storage import Storage
from pjstore.url_signing import UrlSigner

PREFIX = "/v1/images"
BYTES_READ = "X-Pjstore-Bytes-Read"
JPEG = "image/jpeg"
MAX_PAGE = 1000



def single_valued_query(request: Request) -> None:
    """400 for a repeated query parameter: `scale=0.1&scale=0.5` would otherwise silently serve
    whichever one the framework keeps."""
    counts = Counter(key for key, _ in request.query_params.multi_items())
    repeated = sorted(key for key, n in counts.items() if n > 1)
    if repeated:
        raise InvalidRequest(f"query parameter {', '.join(repeated)} given more than once")


router = APIRouter(prefix=PREFIX, tags=["images"])

_UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    JPEG: {"schema": {"type": "string", "format": "binary"}},
    "multipart/form-data": {"schema": {"type": "object", "required": [FILE_FIELD],
                                       "properties": {FILE_FIELD: {"type": "string", "format": "binary"}}}},
}}}
_JPEG_RESPONSE = {200: {"content": {JPEG: {}}, "description": "A baseline JPEG."}}
_IMAGE_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {MEDIA_TYPES[f]: {} for f in FORMATS},
                         "description": "A baseline JPEG, or WebP/AVIF by `format` or `Accept`."}}


@dataclass(frozen=True)
class ImagePage:
    ids: list[str]
    next: str | None  # pass as `after` for the next page; null on the last page


def location(image_id: str) -> str:
    return f"{PREFIX}/{image_id}"


def document(record: ImageRecord, signer: UrlSigner | None) -> dict:
    """The record as `pjstore info` gives it, each scale with the URL serving it (signed when URLs
    must be, so clients such as the page never need the key)."""
    doc = record.to_json()
    for row in doc["scales"]:
        url = f"{location(record.id)}?scale={row['scale']:g}"
        row["url"] = signer.sign(url) if signer else url
        # One URL per stored format (the page's <picture> sources): `format` is signed with the rest.
        row["format_urls"] = {f: signer.sign(f"{url}&format={f}") if signer else f"{url}&format={f}"
                              for f in row["formats"]}
    return doc


@router.post("", status_code=201, dependencies=[Depends(require_key)], openapi_extra=_UPLOAD_BODY,
             summary="Upload a JPEG (raw body or multipart field 'file')")
async def upload(request: Request, s: State) -> JSONResponse:
    """201 and the record for a new image; 200 and the existing record for bytes already stored."""
    outcome = "InternalError"
    timeout = s.settings.request_timeout
    try:
        s.uploads.admission.check()  # refuse before reading a body that could not be ingested soon
        source = await received_within(read_upload(request, s.settings.max_upload_bytes), timeout)
        record, created = await s.uploads.ingest(source, s.ingest_options, timeout)
        outcome = "created" if created else "existing"
    except (PjstoreError, ApiError) as exc:
        outcome = exc.error if isinstance(exc, ApiError) else type(exc).__name__
        raise
    finally:
        s.metrics.uploads.labels(outcome).inc()
    return JSONResponse(document(record, s.signer), status_code=201 if created else 200,
                        headers={"Location": location(record.id)})


@router.get("", dependencies=[Depends(single_valued_query)], summary="List stored image ids, in pages")
def list_images(s: State, after: str | None = None, limit: int = Query(100, ge=1, le=MAX_PAGE)) -> ImagePage:
    page = s.store.list(after=ids.validate(after) if after else None, limit=limit + 1)
    return ImagePage(page[:limit], page[limit - 1] if len(page) > limit else None)


@router.get("/{image_id}", response_class=Response, responses=_IMAGE_RESPONSE,
            dependencies=[Depends(require_signature), Depends(single_valued_query)],  # a forgery is 403 first
            summary="The image at a stored scale, width or height, as JPEG, WebP or AVIF")
async def get_image(s: State, request: Request, image_id: str,
                    scale: float | None = Query(None, description="A stored scale: 0.1, 0.25, 0.5 or 1 (default 1)."),
                    w: int | None = Query(None, ge=1, description="Any upright width up to the original's."),
                    h: int | None = Query(None, ge=1, description="Any upright height up to the original's."),
                    format: str | None = Query(None, description="jpeg, webp or avif; without it, from Accept."),
                    ) -> Response:
    """Read from the smallest stored prefix covering the request; 304 if the ETag matches."""
    try:
        asked = parse_format(format)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    record = s.store.info(ids.validate(image_id))
    if sum(x is not None for x in (scale, w, h)) > 1:
        raise InvalidRequest("give at most one of scale, w, h")
    by_size = w is not None or h is not None
    chosen = select.by_size(record, w, h) if by_size else select.by_scale(record, 1.0 if scale is None else scale)
    limit = s.settings.max_result_dimension
    if limit is not None and max(chosen.size) > limit:
        raise InvalidRequest(f"the result would be {chosen.size[0]}x{chosen.size[1]}; "
                             f"this server serves at most {limit} pixels per side")
    chosen = select.in_format(record, chosen, asked or negotiate(request.headers.get("accept"), chosen.entry))
    headers = {"ETag": etag(record.id, chosen.entry.scale, chosen.entry.offset, *chosen.size, chosen.recipe,
                            *([chosen.encoding] if chosen.encoding else [])),
               "Cache-Control": CACHE_CONTROL}
    if asked is None:  # negotiated: caches must key on Accept
        headers["Vary"] = "Accept"
    if not_modified(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    make = partial(render_selection, s.store, record, chosen)
    job = s.renders.submit(s.render_pool, make)
    r = await result_within(job, s.settings.request_timeout, "rendering this image")
    s.metrics.served(r.bytes_read, record.stored_bytes)
    return Response(r.data, media_type=MEDIA_TYPES[r.format], headers={**headers, BYTES_READ: str(r.bytes_read)})


@router.get("/{image_id}/info", summary="The image's record (as `pjstore info`)")
def info(image_id: str, s: State) -> dict:
    return document(s.store.info(ids.validate(image_id)), s.signer)


@router.get("/{image_id}/original", response_class=Response,
            responses={200: _JPEG_RESPONSE[200], 206: {"description": "One byte range of that file."}},
            summary="The stored progressive file (an arithmetic-coded store's as Huffman); a Range fetches "
                    "just a prefix")
async def original(request: Request, image_id: str, s: State) -> Response:
    record = s.store.info(ids.validate(image_id))
    headers = {"ETag": etag(record.id, "original"), "Cache-Control": CACHE_CONTROL, "Accept-Ranges": "bytes"}
    if not_modified(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    # In the render pool, under its bounds: an arithmetic-coded store's original is a transcode.
    job = s.renders.submit(s.render_pool, _original_range, s.store, record, request.headers.get("range"))
    data, span, length, read = await result_within(job, s.settings.request_timeout, "preparing the original")
    s.metrics.served(read, record.stored_bytes)
    headers[BYTES_READ] = str(read)
    if span is None:
        return Response(data, media_type=JPEG, headers=headers)
    headers["Content-Range"] = f"bytes {span[0]}-{span[1] - 1}/{length}"
    return Response(data, status_code=206, media_type=JPEG, headers=headers)


def _original_range(store: Storage, record: ImageRecord,
                    range_header: str | None) -> tuple[bytes, tuple[int, int] | None, int, int]:
    """The bytes of the handed-out file `range_header` asks for, the range (None: all), the file's
    length and the stored bytes read."""
    handout = handed_out(store, record)
    span = byte_range(range_header, handout.length)
    start, stop = span or (0, handout.length)
    return handout.read(start, stop), span, handout.length, handout.stored_read(start, stop)


@router.delete("/{image_id}", status_code=204, dependencies=[Depends(require_key)], response_class=Response,
               summary="Delete an image")
def delete(image_id: str, s: State) -> Response:
    if not s.store.delete(ids.validate(image_id)):
        raise NotFound(f"no image {image_id}")
    return Response(status_code=204)
