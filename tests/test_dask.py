"""Distributed ingest: `prepare` runs on a real dask.distributed cluster (its own processes on
loopback), results are written by the client; the store ends up as a serial ingest leaves it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pjstore.ingest import ingest
from pjstore.storage import LmdbStorage, open_storage

from test_batch import ROOT, cli, cli_env, contents, write_corpus


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


def ingest_on(scheduler: str, location: str, corpus: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cli(location, str(corpus), "--dask-scheduler", scheduler), env=cli_env(),
                          capture_output=True, text=True, timeout=300)


def test_dask_ingest_stores_what_serial_does_and_resumes(scheduler, tmp_path, kinds):
    files = write_corpus(tmp_path / "in", kinds)
    first = ingest_on(scheduler, str(tmp_path / "store"), tmp_path / "in")
    assert first.returncode == 1 and "7 ok, 1 failed, 1 skipped" in first.stderr, first.stderr
    assert "FAIL" in first.stderr and "TruncatedJpeg" in first.stderr, "the worker's refusal comes back typed"
    with LmdbStorage(tmp_path / "store") as store:
        assert contents(store) == serial_contents(tmp_path, files)
    again = ingest_on(scheduler, str(tmp_path / "store"), tmp_path / "in")
    assert "0 ok, 1 failed, 8 skipped" in again.stderr, again.stderr


def test_dask_ingest_into_s3(scheduler, s3_location, tmp_path, kinds):
    files = write_corpus(tmp_path / "in", kinds)
    result = ingest_on(scheduler, s3_location, tmp_path / "in")
    assert "7 ok, 1 failed, 1 skipped" in result.stderr, result.stderr
    with open_storage(s3_location) as store:
        assert contents(store) == serial_contents(tmp_path, files)


def test_workers_and_a_scheduler_are_exclusive(tmp_path):
    result = subprocess.run(cli(tmp_path / "s", str(tmp_path), "--workers", "2", "--dask-scheduler", "tcp://x:1"),
                            env=cli_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "not both" in result.stderr
