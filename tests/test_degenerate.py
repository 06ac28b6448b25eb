"""Degenerate JPEGs (tiny, thin, flat, saturated or noisy; every colour space, sampling and coding
process; restart markers, ICC profiles sent well and badly, EXIF orientations), drawn by
Hypothesis and run through ingest and every stored scale's render, under both contracts and every
metric: each is stored (losslessly) and every scale served at its exact size, or refused with one of pjstore's
own typed errors, never another exception. Under the default options every one is stored (they
are all valid JPEGs that libjpeg decodes cleanly).

The default run draws DEFAULT_EXAMPLES per contract and metric (Hypothesis profile "degenerate"),
the slow run SLOW_EXAMPLES ("degenerate-slow").
"""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from pjstore.errors import PjstoreError
from pjstore.ingest import IngestOptions, ingest
from pjstore.quality.contract import QualityTarget
from pjstore.quality.metrics import METRICS
from pjstore.read_path.serve import render
from pjstore.storage import LmdbStorage

from edge_cases import CODINGS, COLOURS, CONTENTS, ICC_KINDS, SAMPLINGS, Degenerate
from helpers import assert_lossless, contract_size, open_image, upright_size

# Each example is an ingest and its renders (0.1-2 s of CPU): 20 per contract and metric keep the
# default run to about half a minute of CPU.
DEFAULT_EXAMPLES = 20
SLOW_EXAMPLES = 500
settings.register_profile("degenerate", max_examples=DEFAULT_EXAMPLES, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("degenerate-slow", settings.get_profile("degenerate"), max_examples=SLOW_EXAMPLES)
DEFAULT = IngestOptions()
OPTIONS = [pytest.param(IngestOptions(contract=contract, target=QualityTarget(metric=metric)),
                        id=f"{contract}-{metric}") for contract in ("served", "prefix") for metric in METRICS]

small = st.tuples(st.integers(1, 17), st.integers(1, 17))
strips = st.integers(18, 400).flatmap(lambda n: st.sampled_from([(1, n), (n, 1), (2, n), (n, 3)]))


def sized(size: tuple[int, int], **kind) -> Degenerate:
    return Degenerate(*size, **kind)


degenerate = st.builds(  # a failing example prints as sized((w, h), content=..., ...)
    sized,
    size=st.one_of(small, strips),
    content=st.sampled_from(CONTENTS),
    level=st.one_of(st.sampled_from([0, 1, 127, 128, 254, 255]), st.integers(0, 255)),  # grey 128: every coefficient 0
    colour=st.sampled_from(COLOURS),
    sampling=st.sampled_from(sorted(SAMPLINGS)),
    quality=st.integers(1, 100),
    coding=st.sampled_from(sorted(CODINGS)),
    restart=st.sampled_from([0, 1, 2]),
    icc=st.sampled_from(ICC_KINDS),
    orientation=st.sampled_from([None, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
)


def stored_and_served(kind: Degenerate, options: IngestOptions, tmp_path_factory) -> None:
    data = kind.make()
    width, height = open_image(data).size
    with LmdbStorage(tmp_path_factory.mktemp("store")) as store:
        try:
            record, _ = ingest(store, data, options)
        except PjstoreError:
            assert options != DEFAULT, "every valid JPEG is stored under the default options"
            assert store.list() == [], "nothing partial is written"
            return
        assert (record.width, record.height) == (width, height)
        assert_lossless(data, store.get_range(record.id, 0, record.stored_bytes))
        for entry in record.offsets.entries:
            assert (entry.width, entry.height) == contract_size(width, height, entry.scale)
            served = Image.open(io.BytesIO(render(store, record.id, scale=entry.scale).data))
            served.load()
            assert served.size == upright_size(record, entry)


@pytest.mark.parametrize("options", OPTIONS)
@settings(settings.get_profile("degenerate"))
@given(kind=degenerate)
def test_degenerate_jpegs_are_stored_and_served_or_refused_typed(options, kind, tmp_path_factory):
    stored_and_served(kind, options, tmp_path_factory)


@pytest.mark.slow
@pytest.mark.parametrize("options", OPTIONS)
@settings(settings.get_profile("degenerate-slow"))
@given(kind=degenerate)
def test_degenerate_jpegs_long(options, kind, tmp_path_factory):
    stored_and_served(kind, options, tmp_path_factory)
