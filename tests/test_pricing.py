"""The cost model's arithmetic (pjstore.evaluation.pricing), graded against figures worked by hand."""

from __future__ import annotations

import math

import pytest

from pjstore.evaluation.pricing import Prices, System, break_even, fleet_cost, per_view, year_cost
from pjstore.evaluation.projection import Workload

# Round prices, so every figure below can be checked on paper.
PRICES = Prices(storage_gb_month=0.5, egress_gb=0.1, cpu_core_hour=2.0, get_request=0.01, put_request=0.25,
                cdn_request=0.001)
MIX = (0.5, 0.5)
# 2 GB stored, one core-hour and 2 PUTs per upload; views of 1 GB and 3 GB; 36 s and 72 s of CPU per miss.
A = System("a", stored_bytes=2e9, upload_cpu_s=3600.0, upload_puts=2, view_bytes=(1e9, 3e9),
           miss_cpu_s=(36.0, 72.0), miss_read_bytes=(5.0, 7.0), miss_gets=1)
# Nothing stored or computed, but each view sends 2 GB or 4 GB.
B = System("b", stored_bytes=0.0, upload_cpu_s=0.0, upload_puts=0, view_bytes=(2e9, 4e9),
           miss_cpu_s=(0.0, 0.0), miss_read_bytes=(0.0, 0.0), miss_gets=0)


def test_a_year_of_one_image_by_hand():
    cost = year_cost(A, PRICES, Workload(1, 10, MIX), hit_ratio=0.8)
    assert cost.storage == pytest.approx(2 * 0.5 * 12)  # 2 GB x $0.5 x 12 months = 12
    assert cost.upload == pytest.approx(1 * 2.0 + 2 * 0.25)  # 1 core-hour + 2 PUTs = 2.5
    assert cost.egress == pytest.approx(10 * 2 * 0.1)  # 10 views x 2 GB on the mix x $0.1 = 2
    # a miss: 54 s on the mix = 0.015 h x $2 = 0.03, plus one GET 0.01; 2 misses in 10 views
    assert cost.origin == pytest.approx(10 * 0.2 * 0.04)
    assert cost.cdn_requests == pytest.approx(10 * 0.001)
    assert cost.total == pytest.approx(12 + 2.5 + 2 + 0.08 + 0.01)
    assert cost.fixed == pytest.approx(14.5)


def test_every_view_a_hit_costs_no_origin_work_and_no_views_only_the_fixed_part():
    assert year_cost(A, PRICES, Workload(1, 10, MIX), hit_ratio=1.0).origin == 0
    idle = year_cost(A, PRICES, Workload(1, 0, MIX), hit_ratio=0.0)
    assert idle.total == pytest.approx(14.5)


def test_break_even_by_hand():
    # A: 14.5 fixed, 0.2 + 0.2 x 0.04 + 0.001 = 0.209 a view; B: 0 fixed, 0.3 + 0.001 = 0.301 a view.
    assert per_view(B, PRICES, MIX, 0.8) == pytest.approx((0.3, 0.0, 0.001))
    views = break_even(A, B, PRICES, Workload(1, 10, MIX), 0.8)
    assert views == pytest.approx(14.5 / 0.092)
    at = Workload(1, views, MIX)
    assert year_cost(A, PRICES, at, 0.8).total == pytest.approx(year_cost(B, PRICES, at, 0.8).total)
    assert break_even(B, A, PRICES, Workload(1, 10, MIX), 0.8) == pytest.approx(views)


def test_no_break_even_when_one_is_cheaper_at_every_rate():
    cheaper = System("c", 1e9, 0.0, 1, (1e9, 3e9), (0.0, 0.0), (0.0, 0.0), 0)  # below A on both parts
    assert break_even(A, cheaper, PRICES, Workload(1, 10, MIX), 0.5) is None
    assert break_even(A, A, PRICES, Workload(1, 10, MIX), 0.5) is None


def test_fleet_cost_is_images_times_one_image():
    assert fleet_cost(A, PRICES, Workload(1000, 10, MIX), 0.8) == pytest.approx(1000 * 16.59)


def test_prices_parse_replaces_only_the_named_ones():
    prices = Prices.parse("egress_gb=0.05, cpu_core_hour=0.03")
    assert prices == Prices(egress_gb=0.05, cpu_core_hour=0.03)
    assert Prices.parse("") == Prices()


@pytest.mark.parametrize("text, says", [("egress=0.05", "one of storage_gb_month"), ("egress_gb", "NAME=DOLLARS"),
                                        ("egress_gb=cheap", "'cheap' is not a number"),
                                        ("egress_gb=-1", "egress_gb must be a finite number >= 0"),
                                        ("cpu_core_hour=nan", "cpu_core_hour must be")])
def test_bad_prices_are_refused_by_name(text, says):
    with pytest.raises(ValueError, match=says):
        Prices.parse(text)


def test_bad_figures_and_workloads_are_refused():
    with pytest.raises(ValueError, match="hit ratio"):
        year_cost(A, PRICES, Workload(1, 10, MIX), hit_ratio=1.5)
    with pytest.raises(ValueError, match="2 shares for 3 sizes"):
        year_cost(System("d", 0, 0, 0, (1, 1, 1), (0, 0, 0), (0, 0, 0), 0), PRICES, Workload(1, 10, MIX), 0.5)
    with pytest.raises(ValueError, match="per size"):
        System("e", 0, 0, 0, (1, 1), (0,), (0, 0), 0)
    with pytest.raises(ValueError, match="finite"):
        System("f", -1, 0, 0, (1,), (0,), (0,), 0)
    with pytest.raises(ValueError, match="finite"):
        System("g", 0, math.inf, 0, (1,), (0,), (0,), 0)
