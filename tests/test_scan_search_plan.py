"""plan_custom end to end on generated JPEGs: valid, lossless, verified offsets, scan limit."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from pjstore.encoder import coefficients, metadata, transcode
from pjstore.encoder.structure import parse
from pjstore.offset_map import measure
from pjstore.quality.contract import QualityTarget, Reference, decode_prefix
from pjstore.scan_search import greedy
from pjstore.scan_search.byte_cost import ByteCost
from pjstore.scan_search.greedy import candidates
from pjstore.scan_search.model import QualityModel
from pjstore.scan_search.options import SearchOptions
from pjstore.scan_search.resize_basis import ResizedBasis
from pjstore.scan_search.search import plan_custom
from pjstore.scan_search.steps import NOT_SENT, first_level
from tools.jpegtran_wrapper import Jpegtran

from helpers import SEARCH_IMAGES, search_image


@pytest.fixture(scope="module")
def jt() -> Jpegtran:
    return Jpegtran.find()


def ingest(src: bytes, target: QualityTarget, options: SearchOptions, jt: Jpegtran):
    s = parse(src)
    dct = coefficients.read(transcode.to_sequential(src, jt))
    plan = plan_custom(dct, s.color_space, target, options)
    t = transcode.to_progressive(src, plan.script, metadata.extract(src, s), jt)
    ref = Reference.from_source(src, target)
    return dct, plan, t, ref, measure(t.data, t.scan_ends, ref, hints=plan.hints)


TARGETS = {
    "psnr32": QualityTarget.uniform(),
    "per-scale": QualityTarget((0.1, 0.25, 0.5), (30.0, 33.0, 36.0)),
    "ssim": QualityTarget.uniform(threshold=0.9, metric="ssim"),
}


@pytest.mark.parametrize("name", sorted(SEARCH_IMAGES))
@pytest.mark.parametrize("target_name,objective", [
    ("psnr32", "quality"), ("psnr32", "quality_per_byte"), ("per-scale", "quality_per_byte"),
    ("ssim", "quality_per_byte")])
def test_plan_is_valid_lossless_and_verified(jt: Jpegtran, name: str, target_name: str, objective: str) -> None:
    target = TARGETS[target_name]
    src = search_image(name)
    dct, plan, t, ref, offsets = ingest(src, target, SearchOptions(objective=objective), jt)
    assert len(plan.script) <= 100
    assert set(plan.hints) == set(target.scales)
    stored = coefficients.read(t.data)
    for a, b in zip(dct.components, stored.components, strict=True):
        np.testing.assert_array_equal(a.coefficients, b.coefficients)
    cuts = [offsets.entry(s).offset for s in target.scales]
    assert cuts == sorted(cuts) and cuts[-1] <= len(t.data)
    for scale, threshold, cut in zip(target.scales, target.thresholds, cuts, strict=True):
        assert cut in t.scan_ends or cut == len(t.data)
        assert ref.score(decode_prefix(t.data, cut), scale) >= threshold


def test_hints_point_at_merged_scans(jt: Jpegtran) -> None:
    _, plan, t, _, _ = ingest(search_image("astronaut-q85-420"), TARGETS["psnr32"], SearchOptions(), jt)
    hints = [plan.hints[s] for s in (0.1, 0.25, 0.5)]
    assert hints == sorted(hints) and hints[-1] < len(t.scan_ends) - 1


@pytest.mark.parametrize("limit", [12, 20])
def test_scan_limit_lowers_a_depth_instead_of_failing(jt: Jpegtran, limit: int) -> None:
    src = search_image("coffee-q95-444")
    deep = SearchOptions(a_depth=6, dc_a_depth=8, c_depth=8)
    dct = coefficients.read(transcode.to_sequential(src, jt))
    unlimited = plan_custom(dct, "YCbCr", TARGETS["psnr32"], deep)
    assert len(unlimited.script) > limit  # so the limit really bites
    _, plan, _, _, offsets = ingest(src, TARGETS["psnr32"], SearchOptions(
        a_depth=6, dc_a_depth=8, c_depth=8, max_scans=limit), jt)
    assert len(plan.script) <= limit
    assert offsets.entries[-1].offset > offsets.entry(0.5).offset


def test_options_are_validated() -> None:
    for bad in ({"c_depth": 0}, {"a_depth": 15}, {"objective": "speed"}, {"max_scans": 101},
                {"margin_db": -1.0}, {"dc_a_depth": 0}, {"dc_refine_excess": -0.1},
                {"ac_refine_excess": -1.0}):
        with pytest.raises(ValueError):
            SearchOptions(**bad)


def _first_levels(script) -> dict[tuple[int, int], int]:
    """(component, k) -> Al of the coefficient's first scan."""
    out = {}
    for scan in script.scans:
        for c in scan.components:
            for k in range(scan.ss, scan.se + 1):
                out.setdefault((c, k), scan.al)
    return out


def test_refine_excess_bounds_how_coarse_first_scans_are(jt: Jpegtran) -> None:
    src = search_image("coffee-q95-444")
    dct = coefficients.read(transcode.to_sequential(src, jt))
    cost = ByteCost([c.coefficients for c in dct.components], 6, 0.0)
    assert cost.refinement_excess(0, 0, 0) == 0.0
    # The remainder's first bits are chosen by measured size, not by the excess bound: sent whole.
    free = plan_custom(dct, "YCbCr", TARGETS["psnr32"], SearchOptions(a_depth=5, remainder_bits=(0,)))
    strict = plan_custom(dct, "YCbCr", TARGETS["psnr32"], SearchOptions(
        a_depth=5, dc_refine_excess=0.02, ac_refine_excess=0.02, remainder_bits=(0,)))
    levels = _first_levels(strict.script)
    assert all(cost.refinement_excess(c, k, al) <= 0.02 for (c, k), al in levels.items())
    assert sum(_first_levels(free.script).values()) > sum(levels.values())


def test_finish_cheapest_ends_each_scale_with_the_cheapest_finishing_step(jt: Jpegtran) -> None:
    """Replaying the greedy up to each scale's last step: that step is the cheapest of those
    that alone reach the threshold."""
    dct = coefficients.read(transcode.to_sequential(search_image("astronaut-q85-420"), jt))
    target = TARGETS["psnr32"]
    # Alone: no other adjustment of first levels or step sizes, no margin segments.
    options = SearchOptions(a_depth=3, chroma_a_depth=None, dc_refine_excess=math.inf, band_bits=0.0,
                            margin_db=0.0, walk_margin_db=0.0, finish_cheapest=True)
    found = greedy.run(dct, "YCbCr", target, options)
    cost = ByteCost([c.coefficients for c in dct.components], 6, options.step_overhead_bytes)
    first = [[first_level(c.coefficients[:, :, k], 6 if k == 0 else 3, k == 0) for k in range(64)]
             for c in dct.components]
    checked = 0
    for scale, (start, end) in zip(target.scales, itertools.pairwise((0, *found.ends)), strict=True):
        if end == start:
            continue  # met by the previous scale's steps
        levels = [[NOT_SENT] * 64 for _ in dct.components]
        for step in found.steps[: end - 1]:
            levels[step.component][step.k] = step.al
        model = QualityModel(ResizedBasis.build(dct, "YCbCr", scale, options.model_pixels), dct, levels)
        cands = candidates(levels, first, options.c_depth)
        finishing = (model.sse - model.gains(cands, exact=True)) / (3 * model.basis.pixels) <= 255.0**2 / 10**3.2
        assert finishing.any()  # the last step finished the scale
        cheapest = min(cost.bytes(s) for s, f in zip(cands, finishing, strict=True) if f)
        assert cost.bytes(found.steps[end - 1]) == pytest.approx(cheapest)
        checked += 1
    assert checked


def test_walk_margin_adds_a_segment_after_each_scale(jt: Jpegtran) -> None:
    dct = coefficients.read(transcode.to_sequential(search_image("chelsea-q70-422"), jt))
    plain = greedy.run(dct, "YCbCr", TARGETS["psnr32"], SearchOptions(walk_margin_db=0.0, margin_db=0.0))
    found = greedy.run(dct, "YCbCr", TARGETS["psnr32"], SearchOptions(walk_margin_db=0.5, margin_db=0.5))
    assert plain.segments == plain.ends
    assert len(found.segments) == 2 * len(found.ends)
    assert set(found.ends) <= set(found.segments)
    assert found.steps[: found.ends[0]] == plain.steps[: plain.ends[0]]  # the first scale is unchanged


def test_band_bits_avoid_splitting_unsent_runs(jt: Jpegtran) -> None:
    """Fewer partial sends in the middle of unsent runs: fewer bands in the remainder."""
    dct = coefficients.read(transcode.to_sequential(search_image("coffee-q95-444"), jt))
    scans = {bits: len(plan_custom(dct, "YCbCr", TARGETS["psnr32"], SearchOptions(band_bits=bits)).script)
             for bits in (0.0, 8.0)}
    assert scans[8.0] < scans[0.0]


def test_smallest_layout_is_lossless_and_no_larger_than_any_uniform_choice(jt: Jpegtran) -> None:
    src = search_image("astronaut-q85-420")
    s = parse(src)
    dct = coefficients.read(transcode.to_sequential(src, jt))
    plan = plan_custom(dct, s.color_space, TARGETS["psnr32"])
    meta = metadata.extract(src, s)
    best = transcode.smallest(src, plan, meta, jt, sample_pixels=10**9)
    assert len(best.scan_ends) <= 100
    uniform = [len(transcode.to_progressive(src, plan.layouts.script((b,) * 3), meta, jt).data)
               for b in plan.layouts.choices]
    assert len(best.data) <= min(uniform)
    # The prefix every scale reads is the plan's own: same scans up to the last cut.
    assert tuple(x.scan for x in best.structure.scans[: plan.layouts.prefix_scans]) == \
        plan.script.scans[: plan.layouts.prefix_scans]
    for a, b in zip(dct.components, coefficients.read(best.data).components, strict=True):
        np.testing.assert_array_equal(a.coefficients, b.coefficients)
    cropped = transcode.smallest(src, plan, meta, jt, sample_pixels=20_000)  # chosen on a crop
    for a, b in zip(dct.components, coefficients.read(cropped.data).components, strict=True):
        np.testing.assert_array_equal(a.coefficients, b.coefficients)


def test_chroma_a_depth_bounds_chroma_first_scans_only(jt: Jpegtran) -> None:
    dct = coefficients.read(transcode.to_sequential(search_image("astronaut-q85-420"), jt))
    plan = plan_custom(dct, "YCbCr", TARGETS["psnr32"], SearchOptions(chroma_a_depth=2, remainder_bits=(0,)))
    levels = _first_levels(plan.script)
    assert all(al <= 1 for (c, k), al in levels.items() if c and k)
    assert max(al for (c, k), al in levels.items() if k and not c) == 3  # luma keeps a_depth 4


def test_default_progression_is_tried_only_below_default_below_pixels(jt: Jpegtran) -> None:
    dct = coefficients.read(transcode.to_sequential(search_image("odd-size-q80-420"), jt))  # 217x161
    pixels = dct.width * dct.height
    tried = plan_custom(dct, "YCbCr", TARGETS["psnr32"], SearchOptions(default_below_pixels=pixels + 1))
    skipped = plan_custom(dct, "YCbCr", TARGETS["psnr32"], SearchOptions(default_below_pixels=pixels))
    assert tried.try_default and not skipped.try_default
    assert tried.script == skipped.script
