"""Merging keeps the plan: same bits per coefficient, same bits before every cut, valid scripts."""

from __future__ import annotations

import random

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pjstore.encoder.scan import MAX_SCANS, ScanScript
from pjstore.scan_search.greedy import remainder
from pjstore.scan_search.merge import merge
from pjstore.scan_search.steps import NOT_SENT, Step, next_step

SAMPLINGS = {1: [((1, 1),)], 3: [((1, 1),) * 3, ((2, 2), (1, 1), (1, 1)), ((2, 1), (1, 1), (1, 1))],
             4: [((1, 1),) * 4, ((2, 2), (2, 2), (1, 1), (1, 1))]}


@st.composite
def plans(draw):
    """A random valid step sequence (greedy-like prefix, then the remainder) and segment cuts."""
    n = draw(st.sampled_from(sorted(SAMPLINGS)))
    sampling = draw(st.sampled_from(SAMPLINGS[n]))
    rng = random.Random(draw(st.integers(0, 2**32)))
    width = draw(st.integers(1, 20))  # coefficients the prefix touches, per component
    first = [[rng.randint(0, 4) for _ in range(64)] for _ in range(n)]
    levels = [[NOT_SENT] * 64 for _ in range(n)]
    steps: list[Step] = []
    for _ in range(draw(st.integers(0, 80))):
        options = [next_step(c, k, levels[c][k], first[c][k]) for c in range(n) for k in range(width)
                   if k == 0 or levels[c][0] < NOT_SENT]
        options = [s for s in options if s is not None]
        if not options:
            break
        step = rng.choice(options)
        levels[step.component][step.k] = step.al
        steps.append(step)
    cuts = sorted(rng.randint(0, len(steps)) for _ in range(draw(st.integers(1, 4))))
    return tuple(steps + remainder(levels)), tuple(cuts), n, sampling


def bits(scans_or_steps) -> dict[tuple[int, int], list[tuple[int, int]]]:
    out: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for s in scans_or_steps:
        if isinstance(s, Step):
            out.setdefault((s.component, s.k), []).append((s.ah, s.al))
            continue
        for c in s.components:
            for k in range(s.ss, s.se + 1):
                out.setdefault((c, k), []).append((s.ah, s.al))
    return out


@settings(max_examples=150, deadline=None)
@given(plans())
def test_merge_preserves_the_plan(plan) -> None:
    steps, cuts, n, sampling = plan
    merged = merge(steps, cuts, sampling)
    assume(len(merged.scans) <= MAX_SCANS)  # the limit is plan_custom's job (a_depth fallback)
    ScanScript(merged.scans, n, sampling)  # raises on any progression-rule or MCU violation
    assert bits(merged.scans) == bits(steps)
    assert len(merged.last_scan) == len(cuts)
    for cut, last in zip(cuts, merged.last_scan, strict=True):
        if cut:
            assert bits(merged.scans[: last + 1]) == bits(steps[:cut])


def test_contiguous_steps_share_a_scan() -> None:
    steps = (Step(0, 0, 0, 1), Step(1, 0, 0, 1), Step(0, 1, 0, 2), Step(0, 2, 0, 2), Step(0, 4, 0, 2),
             Step(0, 1, 2, 1))
    merged = merge(steps, (len(steps),), ((1, 1), (1, 1)))
    rendered = [s.render() for s in merged.scans]
    assert rendered == ["0,1: 0-0, 0, 1;", "0: 1-2, 0, 2;", "0: 4-4, 0, 2;", "0: 1-1, 2, 1;"]
