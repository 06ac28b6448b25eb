"""Every error the service returns: a status code and a JSON body `{"error": ..., "detail": ...}`.

pjstore's typed errors map onto status codes here, in one table; HTTP-level refusals raise
`ApiError`. Anything unexpected becomes a plain 500 (the traceback goes to the server log, never
to the client).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from pjstore import errors as pj

log = logging.getLogger("pjstore.server")

# Most specific class first: the first match wins.
STATUS: tuple[tuple[type[pj.PjstoreError], int], ...] = (
    (pj.TooLarge, 413),
    (pj.NotAJpeg, 415),
    (pj.EmptyInput, 400),
    (pj.InvalidInput, 422),  # truncated, corrupt, unsupported kinds of JPEG
    (pj.NotFound, 404),
    (pj.InvalidRequest, 400),
    (pj.StaleRecord, 503),  # refined twice while one request read it: a retry reads the new one
)


class ApiError(Exception):
    """A refusal made by the HTTP layer itself (authorization, media type, ranges)."""

    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.error, self.detail, self.headers = status, error, detail, headers


def status_of(exc: pj.PjstoreError) -> int:
    """The HTTP status for a pjstore error; 500 for failures that are not the client's."""
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 500)


def error_response(status: int, error: str, detail: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


async def _pjstore_error(request: Request, exc: pj.PjstoreError) -> JSONResponse:
    status = status_of(exc)
    if status == 500:
        log.error("server-side failure on %s: %s", request.url.path, exc)
    return error_response(status, type(exc).__name__, str(exc))


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.error, exc.detail, exc.headers)


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    phrase = HTTPStatus(exc.status_code).phrase
    return error_response(exc.status_code, phrase.replace(" ", ""), str(exc.detail), exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    # Bad query parameters (a scale that is not a number, a negative width...) are the
    # client's mistake in the request line: 400, one readable line per problem.
    detail = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in exc.errors())
    return error_response(400, "InvalidRequest", detail)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path)
    return error_response(500, "InternalError", "internal server error")


def install(app: FastAPI) -> None:
    """Route every kind of failure through the handlers above."""
    # FastAPI's decorator, not Starlette's add_exception_handler: that one is typed for handlers of
    # any Exception, so a handler of one class (what both mean) does not type-check.
    app.exception_handler(pj.PjstoreError)(_pjstore_error)
    app.exception_handler(ApiError)(_api_error)
    app.exception_handler(HTTPException)(_http_error)
    app.exception_handler(RequestValidationError)(_validation_error)
    app.exception_handler(Exception)(_unexpected)
