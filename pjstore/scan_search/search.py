"""The tuned scheme's entry point: coefficients in, scan plan out (pure; no I/O, no decoder).

greedy (model-scored steps) -> merge (scans, <= max_scans) -> ScanPlan with a hint per scale.
When the merged script needs more scans than allowed, the greedy runs again with a smaller
a_depth (fewer refinement steps); if even a_depth 1 does not fit, the default progression is
used, so no upload ever fails for it. Only on tiny images can the default progression read less
than a searched plan (every extra scan's header outweighs its data), so only there does the
plan ask the write path to try it too.

What no scale's prefix needs (the remainder) is laid out for size alone: the plan carries
`Layouts`, the scripts for each choice of the bit at which each component's untouched AC
coefficients are first sent, and the write path keeps the smallest (encoder.transcode.smallest).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from pjstore.encoder.coefficients import DctImage
from pjstore.encoder.scan import Scan, ScanScript
from pjstore.quality.contract import QualityTarget
from pjstore.scan_search import greedy, progressive
from pjstore.scan_search.merge import merge
from pjstore.scan_search.options import SearchOptions
from pjstore.scan_search.plan import ScanPlan


@dataclass(frozen=True)
class Layouts:
    """Scripts sharing one prefix (`prefix_scans` scans: every scale's cut and margin) that
    differ only in the remainder: `script(bits)` first sends component c's unsent AC
    coefficients at bit bits[c] and refines them with the partly sent ones. `choices` are the
    bits worth trying per component; AC scans hold one component each, so each component's
    remainder bytes do not depend on the others' choices."""

    found: greedy.GreedyResult
    sampling: tuple[tuple[int, int], ...]
    choices: tuple[int, ...]
    prefix_scans: int
    max_scans: int

    _merged: dict = field(default_factory=dict, compare=False, repr=False)  # bits -> scans

    def scans(self, bits: tuple[int, ...]) -> tuple[Scan, ...]:
        if bits not in self._merged:
            steps = self.found.steps + tuple(greedy.remainder(self.found.levels, bits))
            self._merged[bits] = merge(steps, self.found.segments, self.sampling).scans
        return self._merged[bits]

    def fits(self, bits: tuple[int, ...]) -> bool:
        return len(self.scans(bits)) <= self.max_scans

    def script(self, bits: tuple[int, ...]) -> ScanScript:
        return ScanScript(self.scans(bits), len(self.sampling), self.sampling)


def plan_custom(dct: DctImage, color_space: str, target: QualityTarget,
                options: SearchOptions = SearchOptions()) -> ScanPlan:
    sampling = tuple((c.h, c.v) for c in dct.components)
    dc_a_depth = options.dc_a_depth or options.a_depth
    small = dct.width * dct.height < options.default_below_pixels
    for fewer in range(options.a_depth):  # lower both depths together until the scans fit
        reduced = replace(options, a_depth=options.a_depth - fewer, dc_a_depth=max(1, dc_a_depth - fewer))
        found = greedy.run(dct, color_space, target, reduced)
        prefix = merge(found.steps, found.segments, sampling)
        layouts = Layouts(found, sampling, (), len(prefix.scans), options.max_scans)
        fits = [b for b in options.remainder_bits if layouts.fits((b,) * len(sampling))]
        if fits:
            layouts = replace(layouts, choices=tuple(fits), _merged=layouts._merged)
            last = dict(zip(found.segments, prefix.last_scan, strict=True))  # equal cuts: the same last scan
            hints = {s: last[end] for s, end in zip(target.scales, found.ends, strict=True)}
            return ScanPlan(layouts.script((fits[0],) * len(sampling)), hints, small, layouts)
    return progressive.plan(sampling, color_space)
