"""The dissertation's greedy (HotStorage 2017, chapter 4): add one coefficient approximation at a
time until the smallest scale meets its threshold, then the next scale, and so on.

Per component, a coefficient first enters at bit a_depth - 1 (dc_a_depth, chroma_a_depth; lower
when its values have no bits that high, or when refining it from there would cost too much more
than sending it whole: dc_refine_excess or large_dc_refine_excess, ac_refine_excess) and later
steps refine it one bit down to 0. Candidates are
the coefficients up to the highest one already included plus c_depth (AC only once the component's DC has been
sent). Each candidate is scored by the quality model at the current scale; the best step (by
quality, or quality per estimated byte) is taken; with finish_cheapest, once a single step can
reach the threshold, the cheapest such step. Whatever is left after the largest scale
(`remainder`) completes the file losslessly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pjstore.encoder.coefficients import DctImage
from pjstore.quality.contract import QualityTarget
from pjstore.quality.metrics import METRICS
from pjstore.scan_search.byte_cost import ByteCost
from pjstore.scan_search.model import QualityModel
from pjstore.scan_search.options import SearchOptions
from pjstore.scan_search.resize_basis import ResizedBasis
from pjstore.scan_search.smoothing import LowFields
from pjstore.scan_search.steps import NOT_SENT, Step, first_levels, next_step


@dataclass(frozen=True)
class GreedyResult:
    """The prefix steps in file order; `ends[i]` steps are what scale i needs (by the model).
    `segments` are the cut points merging must respect (the scales' ends and the margins').
    `levels`: each component's coefficients' bit levels after the last step (what `remainder`
    completes)."""

    steps: tuple[Step, ...]
    ends: tuple[int, ...]
    segments: tuple[int, ...]
    levels: tuple[tuple[int, ...], ...]


def candidates(levels: list[list[int]], first: list[list[int]], c_depth: int) -> list[Step]:
    out = []
    for c, comp in enumerate(levels):
        sent = [k for k in range(64) if comp[k] < NOT_SENT]
        top = min(63, (max(sent) if sent else -1) + c_depth)
        for k in range(top + 1):
            if k > 0 and comp[0] >= NOT_SENT:
                break  # T.81: a component's AC scans follow its first DC scan
            step = next_step(c, k, comp[k], first[c][k])
            if step is not None:
                out.append(step)
    return out


def _meets(model: QualityModel, metric: str, threshold: float, bias: float) -> bool:
    if metric != "psnr":
        # The greedy ranks steps by squared error; other metrics are checked on the modelled images.
        return METRICS[metric](*[im.round().astype("uint8") for im in model.images()]) >= threshold
    mse = model.mse * bias
    return mse == 0 or 10 * math.log10(255.0**2 / mse) >= threshold


def _splits(levels: list[int], step: Step) -> int:
    """1 if a first AC scan of `step` splits a run of unsent coefficients in two: the file's
    remainder then needs one more band, and every band codes its own end-of-block per block."""
    if step.ah or step.k == 0:
        return 0
    return int(1 < step.k < 63 and levels[step.k - 1] >= NOT_SENT and levels[step.k + 1] >= NOT_SENT)


def _scan_key(step: Step) -> tuple:
    return ("dc", step.ah, step.al) if step.is_dc else (step.component, step.ah, step.al, step.k)


def _joins(open_scans: set[tuple], step: Step) -> bool:
    """Whether merging can put `step` into a scan the current segment already has: a DC step
    with the same bits, an AC step next to one of its component's with the same bits."""
    if step.is_dc:
        return _scan_key(step) in open_scans
    c, ah, al, k = _scan_key(step)
    return (c, ah, al, k - 1) in open_scans or (c, ah, al, k + 1) in open_scans


def _finishing(model: QualityModel, gains: np.ndarray, metric: str, threshold: float,
               bias: float) -> np.ndarray:
    """Which candidates alone would bring the model to the threshold (PSNR only)."""
    if metric != "psnr":
        return np.zeros(len(gains), dtype=bool)
    target_mse = 255.0**2 / 10 ** (threshold / 10) / bias
    return (model.sse - gains) / (3 * model.basis.pixels) <= target_mse


def run(dct: DctImage, color_space: str, target: QualityTarget, options: SearchOptions) -> GreedyResult:
    coefs = [c.coefficients for c in dct.components]
    levels = [[NOT_SENT] * 64 for _ in coefs]
    dc_depth = options.dc_a_depth or options.a_depth
    ac_depth = [options.a_depth] + [options.chroma_a_depth or options.a_depth] * (len(coefs) - 1)
    first = [first_levels(cf, min(depth, options.a_depth), dc_depth) for cf, depth in zip(coefs, ac_depth, strict=True)]
    cost = ByteCost(coefs, max(dc_depth, options.a_depth), options.step_overhead_bytes)
    large = dct.width * dct.height >= options.large_pixels
    dc_excess = options.large_dc_refine_excess if large else options.dc_refine_excess
    for c, comp in enumerate(first):
        for k in range(64):
            allowed = options.ac_refine_excess if k else dc_excess
            while comp[k] > 0 and cost.refinement_excess(c, k, comp[k]) > allowed:
                comp[k] -= 1
    lows = [LowFields(c.coefficients, c.quant) for c in dct.components]
    blocks = [cf.shape[0] * cf.shape[1] for cf in coefs]
    steps: list[Step] = []
    ends: list[int] = []
    segments: list[int] = []
    # (scale, threshold, whether a scale ends there): a margin is a segment of its own just past
    # a scale, so that where the real decode falls short of the model the offset walks forward
    # through cheap steps instead of into the next scale's first (often large) scan.
    goals = []
    for scale, threshold in zip(target.scales, target.thresholds, strict=True):
        goals.append((scale, threshold, True))
        margin = options.margin_db if scale == target.scales[-1] else options.walk_margin_db
        if margin > 0:
            goals.append((scale, threshold + margin, False))
    model = None
    open_scans: set[tuple] = set()  # _scan_key of the current segment's steps
    for scale, threshold, is_end in goals:
        if model is None or model.basis.scale != scale:  # a margin goes on with its scale's model
            basis = ResizedBasis.build(dct, color_space, scale, options.model_pixels)
            model = QualityModel(basis, dct, levels, options.smoothing, lows)
        while not _meets(model, target.metric, threshold, options.model_bias):
            cands = candidates(levels, first, options.c_depth)
            if not cands:
                break
            gains = model.gains(cands)
            sizes = np.array([cost.bytes(s) for s in cands])
            if options.band_bits:
                band_bytes = [options.band_bits * blocks[s.component] / 8 for s in cands]
                sizes += [b * _splits(levels[s.component], s) for b, s in zip(band_bytes, cands, strict=True)]
            if options.scan_overhead_bytes:
                sizes += [options.scan_overhead_bytes * (not _joins(open_scans, s)) for s in cands]
            finishing = _finishing(model, gains, target.metric, threshold, options.model_bias)
            if options.finish_cheapest and finishing.any():
                # One step reaches the threshold: the cheapest such step, not a larger one that
                # overshoots (the cut can only fall at a segment's end).
                best = cands[int(np.where(finishing, sizes, np.inf).argmin())]
            else:
                if options.objective == "quality_per_byte":
                    gains = gains / sizes
                best = cands[int(gains.argmax())]
            model.apply(best)
            levels[best.component][best.k] = best.al
            steps.append(best)
            open_scans.add(_scan_key(best))
        if is_end:
            ends.append(len(steps))
        segments.append(len(steps))
        open_scans.clear()  # merging never crosses a segment's end
    return GreedyResult(tuple(steps), tuple(ends), tuple(segments), tuple(map(tuple, levels)))


def remainder(levels, first_al: tuple[int, ...] | None = None) -> list[Step]:
    """The steps that complete every coefficient: component c's unsent AC ones in a first scan
    at bit first_al[c] (default 0; unsent DC at full precision), then everything partly sent
    refined bit by bit, higher bits first, so merging can band them: an unsent run first sent
    at the level its neighbours were left at joins their refinement scans."""
    first_al = first_al or (0,) * len(levels)
    out = [Step(c, k, 0, first_al[c] if k else 0) for c, comp in enumerate(levels) for k in range(64)
           if comp[k] >= NOT_SENT]
    left = [[(first_al[c] if k else 0) if lv >= NOT_SENT else lv for k, lv in enumerate(comp)]
            for c, comp in enumerate(levels)]
    top = max((lv for comp in left for lv in comp), default=0)
    for level in range(top, 0, -1):
        out += [Step(c, k, level, level - 1) for c, comp in enumerate(left)
                for k in range(64) if level <= comp[k]]
    return out
