"""The request time limit: a client waits at most so long for a render, or for its upload's work to start.

Threads cannot be killed and a pool process is not stopped mid-write, so the limit bounds the
answer, not the work: a render still queued is cancelled, a running one finishes in the background
and stays counted by its Admission, so the thread caps still bound it. An upload is accepted when
its work starts: one still waiting then is cancelled and refused with 503 + Retry-After (nothing of
it was done), and one started is always answered with its record or its refusal, never 504 (its
work is bounded: provisional recipes, or the limits on the source).
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


async def started_within(job: Future[T], seconds: float, what: str, retry_after: int) -> T:
    """The job's result; 503 + Retry-After if it has not started within `seconds` (it is cancelled)."""
    waiting = asyncio.wrap_future(job)
    try:
        return await asyncio.wait_for(asyncio.shield(waiting), seconds)
    except TimeoutError:
        if job.cancel():
            raise ApiError(503, "Overloaded", f"{what} could not start within {seconds:g} s; retry shortly",
                           {"Retry-After": str(retry_after)}) from None
    return await waiting


async def received_within(body: Awaitable[T], seconds: float) -> T:
    """A request body, or 408 if the client has not sent it all within `seconds` (slow senders
    would otherwise hold a connection and a growing buffer for as long as they like)."""
    try:
        return await asyncio.wait_for(body, seconds)
    except TimeoutError:
        raise ApiError(408, "RequestTimeout", f"the request body took longer than {seconds:g} s to arrive") from None
