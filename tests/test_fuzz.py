"""Fuzzing: mutated real JPEGs (truncations, bit flips, inserted garbage, corrupt marker lengths,
bogus tables) through the structure reader and the whole write path. Only typed errors may come
out, and whatever is accepted must verify (lossless, served renditions meeting the contract).

`PJSTORE_FUZZ_N` sets how many write-path inputs to try (default 120; the slow run uses 3000).
"""

from __future__ import annotations

import os
import random
from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pjstore.encoder.structure import parse
from pjstore.errors import PjstoreError
from pjstore.ingest import IngestOptions, prepare

from helpers import assert_lossless, assert_served_meets_contract

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


# --- hostile generators: each kind of input built to cost a careless reader -------------------
# (tests/test_hostile.py has one fixed example of each; these draw many.)

def _hostile(seed: bytes, progressive: bytes, rng: random.Random) -> bytes:
    from edge_cases import after_soi, icc_chunks, segment, with_icc
    from test_hostile import ff_run_in_first_scan, repeated_scan

    kind = rng.randrange(5)
    if kind == 0:  # a long 0xFF fill run in the first scan, or anywhere followed by any byte
        run = rng.randint(1, 200_000)
        if rng.random() < 0.5:
            return ff_run_in_first_scan(seed, run)
        at = rng.randrange(2, len(seed))
        return seed[:at] + b"\xff" * run + bytes([rng.choice((0x00, 0xD0, 0xD9, 0xFF, 0x42))]) + seed[at:]
    if kind == 1:  # scans repeated past the cap (or just under it)
        return repeated_scan(progressive, rng.randrange(len(parse(progressive).scans)), rng.choice((90, 101, 3000)))
    if kind == 2:  # APPn/COM floods
        marker = rng.choice((0xE0, 0xE1, 0xE2, 0xEC, 0xFE))
        return after_soi(seed, segment(marker, bytes(rng.randrange(64))) * rng.choice((10, 500, 513, 5000)))
    if kind == 3:  # ICC chunk sequences: shuffled, miscounted, duplicated, missing, zero, huge
        profile = bytes(rng.randrange(256) for _ in range(rng.choice((200, 3000, 70_000))))
        pieces = icc_chunks(profile, rng.randint(-(-len(profile) // 65519), 6))  # each fits one segment
        chunks = [(i, len(pieces), body) for i, body in enumerate(pieces, 1)]
        for _ in range(rng.randint(0, 3)):
            i = rng.randrange(len(chunks))
            seq, count, body = chunks[i]
            chunks[i] = (rng.choice((seq, 0, rng.randrange(256))), rng.choice((count, rng.randrange(256))), body)
        rng.shuffle(chunks)
        if rng.random() < 0.2:
            chunks += [(i, 255, bytes(65519)) for i in range(1, 256)]  # 16.7 MB
        return with_icc(seed, chunks)
    return mutate(seed, rng)  # and the ordinary mutations, in between


@pytest.mark.slow
def test_hostile_inputs_cost_little_and_only_typed_errors_come_out(seeds, monkeypatch):
    from test_hostile import cpu_seconds, flat_progressive

    n = int(os.environ.get("PJSTORE_HOSTILE_N", "400"))
    rng = random.Random(20261201)
    progressive = flat_progressive(512)
    options = IngestOptions()
    outcomes: dict[str, int] = {}
    costs: dict[bool, list[float]] = {True: [], False: []}  # stored or refused: CPU s per input
    for _ in range(n):
        hostile = _hostile(rng.choice(seeds), progressive, rng)
        result, cpu = cpu_seconds(partial(prepare, hostile, options))
        stored = not isinstance(result, Exception)
        costs[stored].append(cpu)
        if not stored:
            assert isinstance(result, PjstoreError), repr(result)
            outcomes[type(result).__name__] = outcomes.get(type(result).__name__, 0) + 1
            continue
        outcomes["stored"] = outcomes.get("stored", 0) + 1
        assert_lossless(hostile, result.blob)
        assert len(result.blob) < 2 * len(hostile) + 10_000  # nothing travels beyond what was sent
    refused, accepted = sorted(costs[False]), sorted(costs[True])
    print(f"hostile write path: {n} inputs -> {outcomes}; CPU s per refused input: median "
          f"{refused[len(refused) // 2]:.3f}, max {refused[-1]:.3f}; per stored one (a full ingest of a "
          f"240x200 photo): median {accepted[len(accepted) // 2]:.3f}, max {accepted[-1]:.3f}")
    assert refused[-1] < 0.5 and accepted[-1] < 1.0


@pytest.mark.slow
def test_hostile_requests_never_answer_5xx(tmp_path, kinds):
    from test_server import make_client, upload

    rng = random.Random(7)
    with make_client(tmp_path) as c:
        info = upload(c, kinds["420_q75"]).json()
        base = f"/v1/images/{info['id']}"

        def number() -> str:
            return rng.choice(("", "0", str(rng.randrange(10**6)), "9" * rng.randint(15, 6000), "0" * 50 + "7"))

        statuses: dict[int, int] = {}
        for _ in range(int(os.environ.get("PJSTORE_HOSTILE_N", "400"))):
            if rng.random() < 0.5:
                header = rng.choice(("bytes=", "bytes=-", "items=", "bytes =")) + number() + "-" + number()
                response = c.get(f"{base}/original", headers={"Range": header})
            else:
                names = [rng.choice(("scale", "w", "h", "sig", "x")) for _ in range(rng.randint(1, 4))]
                query = "&".join(f"{k}={number() or '1'}" for k in names)
                response = c.get(f"{base}?{query}")
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            assert response.status_code < 500, (response.request.url, response.headers, response.text)
        print(f"hostile requests: {statuses}")
