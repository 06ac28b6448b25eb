"""Who may do what: a bearer key for the requests that change the store (uploads and deletes), and
a URL signature for the requests that make the server render (when signing is on)."""

from __future__ import annotations

import hmac

from fastapi import Request

from pjstore.server.errors import ApiError
from pjstore.server.state import State


async def require_key(request: Request, s: State) -> None:
    """A dependency: pass if no key is configured or the request carries `Bearer <key>`; else 401.
    Async so that FastAPI runs it on the event loop, not in its thread pool (it never blocks)."""
    key = s.settings.api_key
    if key is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # compare_digest takes as long for a near miss as for a wild guess: no timing oracle.
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), key.encode()):
        raise ApiError(401, "Unauthorized", "this request needs 'Authorization: Bearer <key>'",
                       {"WWW-Authenticate": "Bearer"})


async def require_signature(request: Request, s: State) -> None:
    """A dependency: pass if URLs are not signed or this one carries its valid `sig`; else 403."""
    if s.signer is not None and not s.signer.valid(request.url.path, request.query_params.multi_items()):
        raise ApiError(403, "Forbidden", "this image URL needs a valid 'sig' parameter (see `pjstore sign-url`)")
