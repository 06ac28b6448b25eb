"""Back-pressure: a bounded queue in front of each executor, refusing work beyond it with 503.

An executor's own queue is unbounded: under a burst, requests would wait ever longer while
holding their memory (an upload's body, a connection) and clients would see timeouts instead of a
clear refusal. Like imgproxy's REQUESTS_QUEUE_SIZE, an Admission lets at most `running + waiting`
jobs in; the next request gets 503 with `Retry-After` at once, so clients back off and load
balancers try elsewhere. A job counts until it has really finished, even when its request was
already answered (a timed-out render keeps its thread), so the bound holds for the work itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import TypeVar

from pjstore.server.errors import ApiError

T = TypeVar("T")
RETRY_AFTER_SECONDS = 1
# A full refinement queue drains at one search at a time per refiner, some 30 s for a 12 MP photo.
QUEUE_RETRY_AFTER_SECONDS = 30


def queue_full(depth: int, capacity: int) -> None:
    """503 while the store's refinement queue holds `capacity` images (checked before an upload's body is read)."""
    if depth >= capacity:
        raise ApiError(503, "Overloaded", f"{depth} uploads wait for their recipe search; retry later",
                       {"Retry-After": str(QUEUE_RETRY_AFTER_SECONDS)})


class Admission:
    def __init__(self, running: int, waiting: int, what: str) -> None:
        self.capacity, self.what = running + waiting, what
        self._admitted = 0
        self._lock = threading.Lock()  # jobs finish on executor threads

    def check(self) -> None:
        """Raise 503 if no job could be admitted now (to refuse before reading a request body)."""
        if self._admitted >= self.capacity:
            raise ApiError(503, "Overloaded", f"too many {self.what} in progress; retry shortly",
                           {"Retry-After": str(RETRY_AFTER_SECONDS)})

    def submit(self, executor: Executor, fn: Callable[..., T], *args: object) -> Future[T]:
        """`executor.submit(fn, *args)` if the queue has room, else 503."""
        with self._lock:
            self.check()
            self._admitted += 1
        try:
            future = executor.submit(fn, *args)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(lambda _: self._release())
        return future

    def _release(self) -> None:
        with self._lock:
            self._admitted -= 1
