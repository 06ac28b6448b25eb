"""The tuned scheme's entry point: coefficients in, scan plan out (pure; no I/O, no decoder).

greedy (model-scored steps) -> merge (scans, <= max_scans) -> ScanPlan with a hint per scale.
When the merged script needs more scans than allowed, the greedy runs again with a smaller
a_depth (fewer refinement steps); if even a_depth 1 does not fit, the default progression is
used, so no upload ever fails for it. Only on tiny images can the default progression read less
than a searched plan (every extra scan's header outweighs its data), so only there does the
plan ask the write path to try it too.
"""

from __future__ import annotations

from dataclasses import replace

from pjstore.encoder.coefficients import DctImage
from pjstore.encoder.scan import ScanScript
from pjstore.quality.contract import QualityTarget
from pjstore.scan_search import greedy, progressive
from pjstore.scan_search.merge import merge
from pjstore.scan_search.options import SearchOptions
from pjstore.scan_search.plan import ScanPlan


def plan_custom(dct: DctImage, color_space: str, target: QualityTarget,
                options: SearchOptions = SearchOptions()) -> ScanPlan:
    sampling = tuple((c.h, c.v) for c in dct.components)
    dc_a_depth = options.dc_a_depth or options.a_depth
    for fewer in range(options.a_depth):  # lower both depths together until the scans fit
        reduced = replace(options, a_depth=options.a_depth - fewer, dc_a_depth=max(1, dc_a_depth - fewer))
        found = greedy.run(dct, color_space, target, reduced)
        merged = merge(found.steps, found.segments, sampling)
        if len(merged.scans) <= options.max_scans:
            script = ScanScript(merged.scans, len(sampling), sampling)
            last = dict(zip(found.segments, merged.last_scan))  # equal cuts: the same last scan
            small = dct.width * dct.height < options.default_below_pixels
            return ScanPlan(script, {s: last[end] for s, end in zip(target.scales, found.ends)}, small)
    return progressive.plan(sampling, color_space)
