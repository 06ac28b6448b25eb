"""A real `pjstore serve` process on a free loopback port, for tests that go over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(store: Path, *args: str, env: dict[str, str] | None = None,
                   startup_timeout: float = 60.0) -> Iterator[str]:
    """Start `pjstore --store STORE serve --port P ARGS...`; yield its base URL; stop it."""
    port = free_port()
    command = [sys.executable, "-m", "pjstore", "--store", str(store), "serve", "--port", str(port), *args]
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(process, url, startup_timeout)
        yield url
    finally:
        process.send_signal(signal.SIGINT)  # uvicorn shuts its workers down on SIGINT
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


def _wait_healthy(process: subprocess.Popen, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pjstore serve exited with {process.returncode}: {process.stderr.read().decode()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"pjstore serve did not answer at {url} within {timeout} s")
