"""Median-of-repeats wall-clock timing, bounded so a large image cannot stall a run.

Variants are timed round-robin (one call of each per round) so that load from other processes
on shared cores falls on all of them alike; one untimed round first warms caches and imports.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable

MIN_ROUNDS = 3  # medians of fewer are too noisy to compare


def median_seconds(calls: dict[str, Callable[[], object]], repeats: int = 5,
                   budget_s: float = 2.0, clock: Callable[[], float] = time.perf_counter) -> dict[str, float]:
    """Median seconds per call of each function: `repeats` rounds, fewer (>= MIN_ROUNDS) past `budget_s`
    of wall time; `clock` is what is measured (time.process_time: CPU time of all threads)."""
    for call in calls.values():
        call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    started = time.perf_counter()
    for round_ in range(repeats):
        if round_ >= MIN_ROUNDS and time.perf_counter() - started > budget_s:
            break
        for name, call in calls.items():
            t0 = clock()
            call()
            times[name].append(clock() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def cpu_seconds() -> float:
    """CPU time of this process and its waited-for children (jpegtran runs as one) so far."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
