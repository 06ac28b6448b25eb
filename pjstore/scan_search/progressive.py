"""The "progressive" scheme: libjpeg's default progression (jcparam.c jpeg_simple_progression).

It is what ``jpegtran -progressive`` writes, expressed as a ScanScript so both schemes go
through the same transcode and offset measurement.
"""

from __future__ import annotations

from pjstore.encoder.scan import MAX_BLOCKS_IN_MCU, Scan, ScanScript
from pjstore.scan_search.plan import ScanPlan


def default_script(sampling: tuple[tuple[int, int], ...], color_space: str) -> ScanScript:
    n = len(sampling)
    dc = _dc_scans(sampling)
    if n == 3 and color_space == "YCbCr":
        scans = [
            *dc(0, 1),
            Scan((0,), 1, 5, 0, 2),
            Scan((2,), 1, 63, 0, 1),
            Scan((1,), 1, 63, 0, 1),
            Scan((0,), 6, 63, 0, 2),
            Scan((0,), 1, 63, 2, 1),
            *dc(1, 0),
            Scan((2,), 1, 63, 1, 0),
            Scan((1,), 1, 63, 1, 0),
            Scan((0,), 1, 63, 1, 0),
        ]
    else:
        def each(ss: int, se: int, ah: int, al: int) -> list[Scan]:
            return [Scan((c,), ss, se, ah, al) for c in range(n)]

        scans = [*dc(0, 1), *each(1, 5, 0, 2), *each(6, 63, 0, 2), *each(1, 63, 2, 1),
                 *dc(1, 0), *each(1, 63, 1, 0)]
    return ScanScript(tuple(scans), n, sampling)


def _dc_scans(sampling: tuple[tuple[int, int], ...]):
    """DC scans interleave all components when the MCU allows it (libjpeg's fill_dc_scans)."""
    n = len(sampling)
    blocks = sum(h * v for h, v in sampling)

    def dc(ah: int, al: int) -> list[Scan]:
        if n == 1 or blocks <= MAX_BLOCKS_IN_MCU:
            return [Scan(tuple(range(n)), 0, 0, ah, al)]
        return [Scan((c,), 0, 0, ah, al) for c in range(n)]

    return dc


def plan(sampling: tuple[tuple[int, int], ...], color_space: str) -> ScanPlan:
    """The progressive scheme's plan: the default script, no hints (every prefix is tried)."""
    return ScanPlan(default_script(sampling, color_space))
