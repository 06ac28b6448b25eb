"""Fuzzing: mutated real JPEGs (truncations, bit flips, inserted garbage, corrupt marker lengths,
bogus tables) through the structure reader and the whole write path. Only typed errors may come
out, and whatever is accepted must verify (lossless, served renditions meeting the contract).

`PJSTORE_FUZZ_N` sets how many write-path inputs to try (default 120; the slow run uses 3000).
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pjstore.encoder.structure import parse
from pjstore.errors import PjstoreError
from pjstore.ingest import IngestOptions, prepare

from test_ingest import assert_lossless, assert_served_meets_contract

SEEDS = ("420_q75", "gray", "progressive_source", "restart_markers", "cmyk", "tiny_7x5")


def _marker_positions(data: bytes, codes: set[int]) -> list[int]:
    return [i for i in range(len(data) - 3) if data[i] == 0xFF and data[i + 1] in codes]


def mutate(data: bytes, rng: random.Random) -> bytes:
    d = bytearray(data)
    op = rng.randrange(5)
    if op == 0:
        return bytes(d[: rng.randrange(len(d))])
    if op == 1:
        for _ in range(rng.randint(1, 8)):
            d[rng.randrange(len(d))] ^= 1 << rng.randrange(8)
    elif op == 2:
        i = rng.randrange(len(d))
        d[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
    elif op == 3:
        segments = _marker_positions(bytes(d), set(range(0xC0, 0xFF)) - {0xD8, 0xD9} - set(range(0xD0, 0xD8)))
        if segments:
            i = rng.choice(segments)
            d[i + 2], d[i + 3] = rng.randrange(256), rng.randrange(256)
    else:
        tables = _marker_positions(bytes(d), {0xC4, 0xDB})
        if tables:
            i = rng.choice(tables)
            for _ in range(4):
                j = i + 4 + rng.randrange(20)
                if j < len(d):
                    d[j] = rng.randrange(256)
    return bytes(d)


@pytest.fixture(scope="module")
def seeds(kinds):
    return [kinds[k] for k in SEEDS]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_structure_reader_raises_only_typed_errors(seeds, data):
    seed = data.draw(st.sampled_from(seeds))
    mutated = mutate(seed, random.Random(data.draw(st.integers(0, 2**32))))
    try:
        parse(mutated, max_pixels=100_000_000)
    except PjstoreError:
        pass


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_structure_reader_on_arbitrary_bytes(blob):
    try:
        parse(b"\xff\xd8" + blob, max_pixels=100_000_000)
    except PjstoreError:
        pass


def test_write_path_only_typed_errors_and_accepted_inputs_verify(seeds):
    n = int(os.environ.get("PJSTORE_FUZZ_N", "120"))
    rng = random.Random(20261121)
    options = IngestOptions()
    outcomes: dict[str, int] = {}
    for _ in range(n):
        mutated = mutate(rng.choice(seeds), rng)
        try:
            p = prepare(mutated, options)
        except PjstoreError as exc:
            outcomes[type(exc).__name__] = outcomes.get(type(exc).__name__, 0) + 1
            continue
        outcomes["stored"] = outcomes.get("stored", 0) + 1
        assert_lossless(mutated, p.blob)
        assert_served_meets_contract(mutated, p.blob, p.record, options.target)
    print(f"write-path fuzz: {n} inputs -> {outcomes}")
    assert sum(outcomes.values()) == n and outcomes.get("stored") and len(outcomes) > 1


@pytest.mark.slow
def test_write_path_fuzz_long(seeds, monkeypatch):
    monkeypatch.setenv("PJSTORE_FUZZ_N", "3000")
    test_write_path_only_typed_errors_and_accepted_inputs_verify(seeds)
