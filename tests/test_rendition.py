"""The recipe type and the write-time search's pieces, on their own."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pjstore.rendition.choose import preferred
from pjstore.rendition.quality_search import Encoded, lowest_quality
from pjstore.rendition.recipe import Recipe, draft_for


@given(st.integers(1, 101), st.one_of(st.none(), st.integers(1, 100)))
def test_lowest_quality_finds_the_first_passing_quality(first, guess):
    calls: list[int] = []
    found = lowest_quality(lambda q: calls.append(q) or q, lambda q: q >= first, guess)
    assert (found[0] if found else None) == (None if first == 101 else first)
    assert len(calls) <= 16, "bisection or a gallop, never a scan"


@pytest.mark.parametrize("bad", [dict(draft=3), dict(quality=0), dict(quality=101), dict(subsampling="4:1:1"),
                                 dict(colour="cmyk"), dict(reducing_gap=0.5), dict(quality=85.0)])
def test_recipes_validate_themselves(bad):
    with pytest.raises(ValueError):
        Recipe(**bad)


def test_recipe_round_trips_through_json():
    r = Recipe(draft=4, reducing_gap=2.0, quality=63, subsampling="4:4:4", colour="convert")
    assert Recipe.from_json(r.to_json()) == r


def test_draft_never_decodes_below_the_size():
    assert draft_for((4000, 3000), (400, 300)) == 4  # 1000x750 >= 2 x the size
    assert draft_for((4000, 3000), (400, 300), oversample=1) == 8
    assert draft_for((100, 10), (60, 6)) == 1
    assert draft_for((7, 5), (1, 1)) == 4  # 1/4 decodes to 2x2; 1/8 to 1x1, below 2x the size


def test_a_coarser_decode_is_preferred_only_within_five_percent_and_the_budget():
    found = [(Recipe(draft=d), Encoded(b"x" * n, 33.0)) for d, n in [(1, 1000), (2, 1040), (4, 1100)]]
    assert preferred(found, 2000)[0].draft == 2  # 4% more bytes: faster; 10% more: not
    assert preferred(found, 1020)[0].draft == 1  # the budget comes first
    assert preferred(found, 999) is None
