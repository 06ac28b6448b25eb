"""The request time limit: a client waits at most so long for a render or an upload's ingest.

Threads cannot be killed and a pool process is not stopped mid-write, so the limit bounds the
answer, not the work: a job still queued is cancelled, a running one finishes in the background
(an upload may then still be stored; sending it again answers 200 with its record). Such work
stays counted by its Admission, so the thread and process caps still bound it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from concurrent.futures import Future
from typing import TypeVar

from pjstore.server.errors import ApiError

T = TypeVar("T")


async def result_within(job: Future[T], seconds: float, what: str) -> T:
    """The job's result, or 504 once `seconds` have passed (the job is cancelled if not started)."""
    try:
        return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(job)), seconds)
    except TimeoutError:
        job.cancel()
        raise ApiError(504, "Timeout", f"{what} took longer than the {seconds:g} s limit") from None


async def received_within(body: Awaitable[T], seconds: float) -> T:
    """A request body, or 408 if the client has not sent it all within `seconds` (slow senders
    would otherwise hold a connection and a growing buffer for as long as they like)."""
    try:
        return await asyncio.wait_for(body, seconds)
    except TimeoutError:
        raise ApiError(408, "RequestTimeout", f"the request body took longer than {seconds:g} s to arrive") from None
