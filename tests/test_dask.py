"""Distributed ingest: `prepare` runs on a real dask.distributed cluster (its own processes on
loopback), results are written by the client; the store ends up as a serial ingest leaves it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pjstore.ingest import ingest
from pjstore.storage import LmdbStorage, open_storage

from helpers import ROOT, cli, cli_env, contents, ingest_json, tally, write_corpus


@pytest.fixture(scope="module")
def scheduler():
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "dask_cluster.py")], env=cli_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        address = proc.stdout.readline().strip()
        assert address.startswith("tcp://127.0.0.1:"), address
        yield address
    finally:
        proc.stdin.close()  # the cluster shuts itself down
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def serial_contents(tmp_path: Path, files: list[Path]) -> dict:
    with LmdbStorage(tmp_path / "serial") as serial:
        for f in files:
            if f.name != "broken.jpg":
                ingest(serial, f.read_bytes())
        return contents(serial)


def ingest_on(scheduler: str, location: str, corpus: Path) -> tuple[subprocess.CompletedProcess, list[dict]]:
    return ingest_json(location, str(corpus), "--dask-scheduler", scheduler)


def test_dask_ingest_stores_what_serial_does_and_resumes(scheduler, tmp_path, kinds):
    files = write_corpus(tmp_path / "in", kinds)
    first, rows = ingest_on(scheduler, str(tmp_path / "store"), tmp_path / "in")
    assert first.returncode == 1 and tally(rows) == (7, 1, 1), first.stderr
    refusals = [r["error_type"] for r in rows if "error_type" in r]
    assert refusals == ["TruncatedJpeg"], "the worker's refusal comes back typed"
    with LmdbStorage(tmp_path / "store") as store:
        assert contents(store) == serial_contents(tmp_path, files)
    again, rows = ingest_on(scheduler, str(tmp_path / "store"), tmp_path / "in")
    assert tally(rows) == (0, 1, 8), again.stderr


def test_dask_ingest_into_s3(scheduler, s3_location, tmp_path, kinds):
    files = write_corpus(tmp_path / "in", kinds)
    result, rows = ingest_on(scheduler, s3_location, tmp_path / "in")
    assert tally(rows) == (7, 1, 1), result.stderr
    with open_storage(s3_location) as store:
        assert contents(store) == serial_contents(tmp_path, files)


def test_workers_and_a_scheduler_are_exclusive(tmp_path):
    result = subprocess.run(cli(tmp_path / "s", str(tmp_path), "--workers", "2", "--dask-scheduler", "tcp://x:1"),
                            env=cli_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--dask-scheduler" in result.stderr, "a usage error naming the option"
