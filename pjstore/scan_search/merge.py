"""Scan merging: turn a sequence of steps into as few scans as the progression rules allow.

Steps are only ever merged within one segment (the steps between two scales' cut points), so
every scale's prefix holds exactly the bits the greedy chose for it. Inside a segment, the
steps of one component that share (Ah, Al) and cover contiguous coefficients become one scan,
and DC steps sharing (Ah, Al) become one interleaved scan across components (split where the
10-blocks-per-MCU limit demands). Scans are emitted in greedy order, except that a scan waits
for the scans that must precede it (the coefficient's previous bit; the component's first DC).
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass

from pjstore.encoder.scan import MAX_BLOCKS_IN_MCU, Scan
from pjstore.scan_search.steps import Step


@dataclass(frozen=True)
class MergedScans:
    """Merged scans in file order and, per segment, the index of its last scan."""

    scans: tuple[Scan, ...]
    last_scan: tuple[int, ...]


def merge(steps: tuple[Step, ...], ends: tuple[int, ...],
          sampling: tuple[tuple[int, int], ...] | None) -> MergedScans:
    """Merge `steps`; segment i is steps[ends[i-1]:ends[i]], and the steps after the last end
    are one more segment (its last scan is not reported)."""
    scans: list[Scan] = []
    last: list[int] = []
    bounds = [0, *ends, len(steps)]
    for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        scans += _merge_segment(steps[lo:hi], sampling)
        if i < len(ends):
            last.append(max(0, len(scans) - 1))
    return MergedScans(tuple(scans), tuple(last))


def _merge_segment(steps: tuple[Step, ...], sampling) -> list[Scan]:
    groups: dict[tuple, list[tuple[int, Step]]] = {}
    for pos, s in enumerate(steps):
        key = ("dc", s.ah, s.al) if s.is_dc else ("ac", s.component, s.ah, s.al)
        groups.setdefault(key, []).append((pos, s))
    units: list[tuple[int, Scan]] = []  # (greedy position of its first step, scan)
    for group, members in groups.items():
        if group[0] == "dc":
            for comps, first in _dc_chunks(members, sampling):
                units.append((first, Scan(comps, 0, 0, group[1], group[2])))
        else:
            for ss, se, first in _runs(members):
                units.append((first, Scan((group[1],), ss, se, group[2], group[3])))
    return _ordered(units)


def _runs(members: list[tuple[int, Step]]) -> list[tuple[int, int, int]]:
    """Contiguous coefficient runs: (Ss, Se, earliest greedy position)."""
    by_k = sorted((s.k, pos) for pos, s in members)
    runs: list[list[int]] = []
    for k, pos in by_k:
        if runs and runs[-1][1] == k - 1:
            runs[-1][1] = k
            runs[-1][2] = min(runs[-1][2], pos)
        else:
            runs.append([k, k, pos])
    return [tuple(r) for r in runs]  # type: ignore[misc]


def _dc_chunks(members: list[tuple[int, Step]], sampling) -> list[tuple[tuple[int, ...], int]]:
    """Components of a DC group, packed in frame order into MCUs of at most 10 blocks."""
    first = {s.component: pos for pos, s in reversed(members)}
    chunks: list[list[int]] = []
    blocks = 0
    for c in sorted(first):
        b = sampling[c][0] * sampling[c][1] if sampling else 1
        if chunks and blocks + b <= MAX_BLOCKS_IN_MCU:
            chunks[-1].append(c)
            blocks += b
        else:
            chunks.append([c])
            blocks = b
    return [(tuple(ch), min(first[c] for c in ch)) for ch in chunks]


def _ordered(units: list[tuple[int, Scan]]) -> list[Scan]:
    """Kahn's topological order, earliest greedy position first among ready scans."""
    holder: dict[tuple[int, int, int], int] = {}  # (component, k, Al) -> unit sending that bit
    for i, (_, scan) in enumerate(units):
        for c in scan.components:
            for k in range(scan.ss, scan.se + 1):
                holder[(c, k, scan.al)] = i
    needs: list[set[int]] = [set() for _ in units]
    for i, (_, scan) in enumerate(units):
        for c in scan.components:
            for k in range(scan.ss, scan.se + 1):
                before = holder.get((c, k, scan.ah)) if scan.ah else None
                if before is not None:
                    needs[i].add(before)
            if not scan.is_dc:
                needs[i].update(j for j, (_, s) in enumerate(units)
                                if s.is_dc and s.ah == 0 and c in s.components)
    waiting = {i: set(n) for i, n in enumerate(needs)}
    ready = [(units[i][0], i) for i, n in waiting.items() if not n]
    heapq.heapify(ready)
    out: list[Scan] = []
    while ready:
        _, i = heapq.heappop(ready)
        out.append(units[i][1])
        for j, n in waiting.items():
            if i in n:
                n.discard(i)
                if not n:
                    heapq.heappush(ready, (units[j][0], j))
    return out
