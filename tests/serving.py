"""Helpers for the server's tests: a real `pjstore serve` on a free loopback port, and reading metrics."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class RunningServer:
    url: str  # http://127.0.0.1:PORT
    pid: int  # the `pjstore` process (its workers are its children)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(store: Path, *args: str, command: str = "serve",
                   startup_timeout: float = 60.0) -> Iterator[RunningServer]:
    """Start `pjstore --store STORE COMMAND --port P ARGS...`; yield it once it answers; stop it."""
    port = free_port()
    argv = [sys.executable, "-m", "pjstore", "--store", str(store), command, "--port", str(port), *args]
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    # The log goes to a file, not a pipe: nobody reads a pipe while the server runs, and a full
    # one would block the server on its next access-log line.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(argv, env=environment, stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(process, log, url, startup_timeout)
            yield RunningServer(url, process.pid)
        finally:
            process.send_signal(signal.SIGINT)  # uvicorn shuts its workers down on SIGINT
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(process: subprocess.Popen, log: IO[bytes], url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"pjstore exited with {process.returncode}: {log.read().decode(errors='replace')}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"pjstore serve did not answer at {url} within {timeout} s")


def metric(text: str, name: str, **labels: str) -> float:
    """One sample's value from Prometheus text format; 0 if absent."""
    for line in text.splitlines():
        sample, _, value = line.rpartition(" ")
        if sample.split("{")[0] == name and all(f'{k}="{v}"' in sample for k, v in labels.items()):
            return float(value)
    return 0.0
