"""The read path: any width or height, bad requests and ids, DCT scaling."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from pjstore.errors import InvalidRequest, NotFound
from pjstore.ingest import ingest
from pjstore.read_path.pipeline import render

# Every kind of upload served at every scale, upright, as baseline from its prefix: test_edge_cases.py.


def test_any_width_or_height_from_the_smallest_covering_scale(store, kinds):
    record, _ = ingest(store, kinds["420_q75"])  # 240x200; scales 24x20, 60x50, 120x100
    r = render(store, record.id, width=50)
    assert (r.width, r.height) == (50, 42) and r.scale == 0.25
    r = render(store, record.id, height=100)
    assert (r.width, r.height) == (120, 100) and r.scale == 0.5
    r = render(store, record.id, width=121)
    assert (r.width, r.height) == (121, 101) and r.scale == 1.0
    assert Image.open(io.BytesIO(r.data)).size == (121, 101)


def test_width_is_upright(store, kinds):
    record, _ = ingest(store, kinds["oriented_6"])  # stored 240x160, upright 160x240
    r = render(store, record.id, width=160)
    assert (r.width, r.height) == (160, 240)
    with pytest.raises(InvalidRequest):
        render(store, record.id, width=161)


@pytest.mark.parametrize("request_args", [{"scale": 0.3}, {"scale": 2.0}, {"width": 0}, {"width": 241},
                                          {"height": 201}, {}, {"width": 10, "height": 10}])
def test_bad_requests(store, kinds, request_args):
    record, _ = ingest(store, kinds["420_q75"])
    with pytest.raises(InvalidRequest):
        render(store, record.id, **request_args)


def test_unknown_and_malformed_ids(store):
    with pytest.raises(NotFound):
        render(store, "0" * 64, scale=0.1)
    for bad in ("../../etc/passwd", "A" * 64, "abc", "0" * 63 + "/"):
        with pytest.raises(InvalidRequest):
            render(store, bad, scale=0.1)


def test_dct_scaling_keeps_exact_sizes(store, kinds):
    record, _ = ingest(store, kinds["444_q95"])
    for entry in record.offsets.entries:
        r = render(store, record.id, scale=entry.scale, dct_scaling=True)
        assert Image.open(io.BytesIO(r.data)).size == (entry.width, entry.height)
        assert r.bytes_read == entry.offset
