"""Several uvicorn workers on one port, each accepting on its own SO_REUSEPORT socket.

uvicorn's own multi-worker mode shares one listening socket, and whichever worker wakes first
accepts a whole burst of new connections: measured with 16 keep-alive clients and 2 workers, one
run in two put every connection on one worker, so one core served while the other idled. With a
socket per worker in a SO_REUSEPORT group, the kernel spreads connections across workers by
hash instead. The supervisor restarts a worker that dies, and stops all of them on SIGINT/SIGTERM;
if the supervisor itself is killed, its workers notice and exit.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess

import uvicorn

from pjstore.parent_watch import exit_with_parent

log = logging.getLogger("pjstore.server")

BACKLOG = 2048
STARTUP_GRACE = 10.0  # a worker dying sooner than this after its start is a startup failure: give up
STOP_GRACE = 30.0  # seconds a worker gets to finish its requests before it is killed


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) in the port's SO_REUSEPORT group."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(app: str, host: str, port: int, access_log: bool, supervisor: int) -> None:
    """One worker process: its own listening socket, then uvicorn until a signal stops it."""
    exit_with_parent(supervisor)  # a killed supervisor leaves no worker serving on its own
    sock = reuseport_socket(host, port)
    sock.listen(BACKLOG)
    config = uvicorn.Config(app, factory=True, host=host, port=port, access_log=access_log, log_level="info")
    uvicorn.Server(config).run(sockets=[sock])


def supervise(app: str, host: str, port: int, workers: int, access_log: bool) -> None:
    """Run `workers` worker processes serving the app factory `app` until SIGINT or SIGTERM."""
    # Bound but never listening: it receives no connections, but it fixes the port (port 0 picks
    # one for all workers) and fails early if another program holds it.
    try:
        reservation = reuseport_socket(host, port)
    except OSError as exc:
        raise SystemExit(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    port = reservation.getsockname()[1]
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop on SIGTERM as on Ctrl-C
    context = multiprocessing.get_context("spawn")

    def start() -> tuple[BaseProcess, float]:
        process = context.Process(target=_worker, args=(app, host, port, access_log, os.getpid()))
        process.start()
        return process, time.monotonic()

    running = [start() for _ in range(workers)]
    log.info("serving on %s:%d with %d workers", host, port, workers)
    try:
        while True:
            wait([process.sentinel for process, _ in running])
            for i, (process, started) in enumerate(running):
                if process.exitcode is None:
                    continue
                if time.monotonic() - started < STARTUP_GRACE:
                    raise SystemExit(f"a worker exited with code {process.exitcode} while starting; stopping")
                log.warning("worker %d exited with code %s; starting another", process.pid, process.exitcode)
                running[i] = start()
    except KeyboardInterrupt:
        pass
    finally:
        _stop([process for process, _ in running])
        reservation.close()


def _stop(processes: list[BaseProcess]) -> None:
    """SIGTERM (uvicorn then finishes in-flight requests), and SIGKILL whatever outlives the grace."""
    for process in processes:
        if process.exitcode is None:
            process.terminate()
    deadline = time.monotonic() + STOP_GRACE
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.exitcode is None:
            process.kill()
            process.join()
