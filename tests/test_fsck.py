"""fsck finds damage and orphans and repairs what can be repaired; a killed ingest leaves a
store that fsck finds clean and a rerun completes."""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
import time

import pytest

from pjstore.encoder.structure import parse
from pjstore.fsck import fsck
from pjstore.ingest import IngestOptions, ingest, prepare
from pjstore.offset_map import OffsetMap
from pjstore.record import ImageRecord

from killing import assert_store_verifies, kill


def test_clean_store_is_clean(store, kinds):
    for k in ("420_q75", "gray", "oriented_6"):
        ingest(store, kinds[k])
    report = fsck(store)
    assert report.checked == 3 and report.problems == () and report.clean


def test_detects_and_repairs(store, kinds):
    good, _ = ingest(store, kinds["420_q75"])
    p = prepare(kinds["gray"])
    # Offsets all cut after the first scan: too short for 50%; repairable by re-measuring.
    structure_cut = parse(p.blob).scan_ends[0]
    entries = p.record.offsets.entries
    bad_offsets = OffsetMap(p.record.offsets.metric,
                            tuple(dataclasses.replace(e, offset=structure_cut) for e in entries[:-1]) + entries[-1:])
    store.put(dataclasses.replace(p.record, offsets=bad_offsets), p.blob)
    # A blob without a record, and a record whose blob is damaged.
    with store._env.begin(write=True) as txn:
        txn.put(b"f" * 64, b"orphan", db=store._blobs)
    damaged = prepare(kinds["444_q95"])
    store.put(damaged.record, damaged.blob[:-10] + b"\x00" * 8 + damaged.blob[-2:])

    report = fsck(store)
    kinds_found = sorted((pr.kind, pr.image_id[:8]) for pr in report.problems)
    assert ("orphan-blob", "f" * 8) in kinds_found
    assert ("bad-offsets", p.record.id[:8]) in kinds_found
    assert ("corrupt", damaged.record.id[:8]) in kinds_found
    assert not report.clean and good.id not in {pr.image_id for pr in report.problems}

    repaired = fsck(store, repair=True)
    assert {pr.kind for pr in repaired.problems if pr.repaired} == {"orphan-blob", "bad-offsets"}
    after = fsck(store)
    assert [pr.kind for pr in after.problems] == ["corrupt"]  # unrecoverable: reported, never hidden
    assert store.info(p.record.id).offsets == p.record.offsets


def _kill_runs(tmp_path, kinds, runs: int) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    names = sorted(kinds)
    for k in names:
        (corpus / f"{k}.jpg").write_bytes(kinds[k])
    location = tmp_path / "store"
    rng = random.Random(7)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "pjstore.cli", "--store", str(location), "ingest", str(corpus)]
    for _ in range(runs):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.5))
        kill(proc.pid)
        proc.wait()
        assert_store_verifies(location)
    subprocess.run(cmd, env=env, check=True, capture_output=True)  # a rerun completes the batch
    assert len(assert_store_verifies(location)) == len(names)


def test_killed_ingest_leaves_a_valid_store(tmp_path, kinds):
    _kill_runs(tmp_path, kinds, runs=6)


@pytest.mark.slow
def test_killed_ingest_fifty_times(tmp_path, kinds):
    _kill_runs(tmp_path, kinds, runs=50)


def test_repair_chooses_as_the_upload_did(store, kinds):
    """A repaired record's rows are chosen under its own egress policy and profile handling (kept in
    the record), so repairing a sound record reproduces it exactly."""
    options = IngestOptions(egress=2.0, keep_profile=True)
    p = prepare(kinds["wide_icc"], options)
    assert p.record.egress == 2.0 and p.record.offsets.entries[0].recipe.colour == "keep"
    assert prepare(kinds["wide_icc"]).record.offsets != p.record.offsets, "the choices matter here"
    entries = p.record.offsets.entries
    wrong = dataclasses.replace(entries[0], served_bytes=entries[0].served_bytes + 1)
    store.put(dataclasses.replace(p.record, offsets=OffsetMap(p.record.offsets.metric, (wrong, *entries[1:]))), p.blob)
    assert [pr.kind for pr in fsck(store, repair=True).problems] == ["bad-offsets"]
    assert store.info(p.record.id) == p.record
    assert ImageRecord.loads(p.record.dumps()).egress == 2.0
