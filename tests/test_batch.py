"""Batch ingest: parallel equals serial, reruns resume without preparing, failures never abort,
and a batch killed or interrupted mid-run leaves a valid store that a rerun completes."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from pjstore import ids
from pjstore.batch.loop import run_batch
from pjstore.batch.outcome import Status
from pjstore.batch.pool import LocalPool
from pjstore.ingest import IngestOptions, ingest
from pjstore.samples import distinct
from pjstore.storage import LmdbStorage

from helpers import cli, cli_env, contents, ingest_json, tally, write_corpus

OPTIONS = IngestOptions()
N_STOPPED = 160  # files in the batches stopped midway: enough that one worker takes a while
# What stopping tests is the batch loop and atomic puts, whatever the plan: the default progression
# under the prefix contract (no recipe search) prepares ~10x faster than the defaults, so these
# batches cost seconds, not half a minute.
STOPPED_SCHEME = ("--scheme", "progressive", "--contract", "prefix")


def assert_valid(store) -> None:
    """Every listed image has its record and its whole blob (nothing half-written)."""
    for image_id in store.list():
        record = store.info(image_id)
        blob = store.get_range(image_id, 0, record.stored_bytes + 1)
        assert len(blob) == record.stored_bytes and blob[:2] == b"\xff\xd8" and blob[-2:] == b"\xff\xd9"


def test_parallel_stores_exactly_what_serial_does(tmp_path, kinds):
    files = write_corpus(tmp_path / "in", kinds)
    with LmdbStorage(tmp_path / "serial") as serial, LmdbStorage(tmp_path / "parallel") as parallel:
        for f in files:
            try:
                ingest(serial, f.read_bytes(), OPTIONS)
            except Exception:
                pass  # the broken file; the batch reports it (below)
        outcomes = []
        with LocalPool(2) as pool:
            summary = run_batch(parallel, files, OPTIONS, pool, outcomes.append)
        assert contents(parallel) == contents(serial)
        assert len(contents(parallel)) == 7
    by_name = {o.path.name: o for o in outcomes}
    assert len(outcomes) == len(files)
    assert by_name["broken.jpg"].status is Status.FAILED
    assert type(by_name["broken.jpg"].error).__name__ == "TruncatedJpeg"
    assert {by_name["420_q75.jpg"].status, by_name["same_as_420.jpg"].status} == {Status.OK, Status.SKIPPED}
    assert (summary.ok, summary.failed, summary.skipped, summary.interrupted) == (7, 1, 1, False)
    stored = [o.record for o in outcomes if o.status is Status.OK]
    assert summary.bytes_in == sum(r.source_bytes for r in stored)
    assert summary.bytes_stored == sum(r.stored_bytes for r in stored)
    scale, fraction = summary.read_fractions[0]
    assert scale == 0.1
    assert fraction == pytest.approx(sum(r.offsets.entry(0.1).offset / r.source_bytes for r in stored) / 7)


class NoWorkers:
    """A runner that fails the test if any preparation is asked of it."""

    capacity = 1

    def submit(self, source, options):
        raise AssertionError("a rerun prepared an image that is already stored")

    def wait_first(self, jobs):
        raise AssertionError("nothing should be in flight")

    def cancel(self, jobs):
        pass


def test_rerun_skips_everything_without_preparing(tmp_path, kinds):
    files = [f for f in write_corpus(tmp_path / "in", kinds) if f.name != "broken.jpg"]
    with LmdbStorage(tmp_path / "store") as store:
        with LocalPool(2) as pool:
            first = run_batch(store, files, OPTIONS, pool)
        before = contents(store)
        outcomes = []
        again = run_batch(store, files, OPTIONS, NoWorkers(), outcomes.append)
        assert contents(store) == before
    assert (first.ok, first.skipped) == (7, 1)
    assert (again.ok, again.failed, again.skipped) == (0, 0, 8)
    assert all(o.record == before[o.image_id][0] for o in outcomes)


def test_cli_reports_failures_to_a_file_and_goes_on(tmp_path, kinds):
    files = write_corpus(tmp_path / "in", kinds)
    missing = tmp_path / "in" / "gone.jpg"
    report = tmp_path / "failures.jsonl"
    result, out = ingest_json(tmp_path / "store", str(tmp_path / "in"), str(missing), "--workers", "2",
                              "--report", str(report))
    assert result.returncode == 1, result.stderr
    rows = {Path(r["path"]).name: r for r in map(json.loads, report.read_text().splitlines())}
    assert rows.keys() == {"broken.jpg", "gone.jpg"}
    assert rows["broken.jpg"]["error_type"] == "TruncatedJpeg"
    assert rows["broken.jpg"]["id"] == ids.image_id(kinds["420_q75"][:3000])
    assert rows["gone.jpg"]["error_type"] == "FileNotFoundError" and rows["gone.jpg"]["id"] is None
    assert tally(out) == (7, 2, 1) and len(out) == len(files) + 1
    assert [r for r in out if "error_type" in r] == list(rows.values()), "the report holds the failed rows"
    assert result.stderr == "", "with --json and no terminal, stderr stays quiet"
    with LmdbStorage(tmp_path / "store") as store:
        assert sorted(store.list()) == sorted({r["id"] for r in out if "created" in r})


def many_jpegs(d: Path, n: int) -> list[Path]:
    """n distinct photos (no two the same, so none is skipped as a copy of another)."""
    d.mkdir(parents=True)
    for i in range(n):
        (d / f"p{i:03}.jpg").write_bytes(distinct(i))
    return sorted(d.iterdir())


def stop_midway(tmp_path: Path, sig: int) -> tuple[subprocess.Popen, list[int], str]:
    """Start a one-worker CLI batch, wait until a few images are stored, then send `sig`."""
    many_jpegs(tmp_path / "in", N_STOPPED)
    store_path = tmp_path / "store"
    # Ctrl-C's default action even where this runs with SIGINT ignored (a shell's background job).
    proc = subprocess.Popen(cli(store_path, str(tmp_path / "in"), "--workers", "1", *STOPPED_SCHEME), env=cli_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            workers = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)] or workers
            if store_path.is_dir():
                with LmdbStorage(store_path) as store:
                    if len(store.list()) >= 3:
                        break
            time.sleep(0.02)
        assert proc.poll() is None, "the batch finished before it could be stopped"
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc, workers, stderr


def assert_rerun_completes(tmp_path: Path) -> None:
    with LmdbStorage(tmp_path / "store") as store:
        assert_valid(store)
        partial = len(store.list())
    assert 3 <= partial < N_STOPPED
    rerun, rows = ingest_json(tmp_path / "store", str(tmp_path / "in"), "--workers", "2", *STOPPED_SCHEME)
    assert rerun.returncode == 0, rerun.stderr
    assert tally(rows) == (N_STOPPED - partial, 0, partial)
    with LmdbStorage(tmp_path / "store") as store:
        assert_valid(store)
        assert sorted(store.list()) == sorted(ids.image_id(f.read_bytes()) for f in (tmp_path / "in").iterdir())


def test_a_killed_batch_leaves_a_valid_store_that_a_rerun_completes(tmp_path):
    proc, workers, _ = stop_midway(tmp_path, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    assert workers, "the batch ran its work in worker processes"
    gone, alive = psutil.wait_procs([psutil.Process(p) for p in workers if psutil.pid_exists(p)], timeout=30)
    for p in alive:  # the test started them; do not leave them behind even if the assertion fails
        p.kill()
    assert not alive, "workers outlived their killed writer"
    assert_rerun_completes(tmp_path)


def test_ctrl_c_stops_cleanly_and_a_rerun_completes(tmp_path):
    proc, _, stderr = stop_midway(tmp_path, signal.SIGINT)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert_rerun_completes(tmp_path)
