"""Benchmark: GET at each scale over HTTP against the same transcode called in-process.

    python eval/bench_server.py [CORPUS_DIR] [--requests 400] [--concurrency 16] [--workers 2]

Fills a temporary store with sample photos (or the JPEGs in CORPUS_DIR), starts `pjstore serve`
on a free loopback port, and for each scale sends a fixed number of GETs from `--concurrency`
threads, each over its own keep-alive connection, and makes the same renditions with `render` in
this process from the same threads; the two sides alternate in rounds so both see the same
background load. Prints requests/s and p50/p99 latency side by side, the server/in-process ratio
and the error count, against the targets (>= 0.7x throughput, p99 <= 5x p50, no errors).
Traffic goes to 127.0.0.1 only; the request count and `--max-seconds` bound the run.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from pjstore.corpus import walk  # noqa: E402
from pjstore.errors import PjstoreError  # noqa: E402
from pjstore.ingest import ingest  # noqa: E402
from pjstore.read_path.serve import render  # noqa: E402
from pjstore.samples import write_samples  # noqa: E402
from pjstore.server.routes_images import BYTES_READ  # noqa: E402
from pjstore.storage import Storage, open_storage  # noqa: E402

from serving import RunningServer, running_server  # noqa: E402

SCALES = (0.1, 0.25, 0.5, 1.0)
TARGET_RATIO = 0.7
TARGET_TAIL = 5.0


@dataclass(frozen=True)
class Request:
    image_id: str
    scale: float
    offset: int  # the X-Pjstore-Bytes-Read a correct response carries
    target: str  # the path and query to GET


@dataclass(frozen=True)
class Run:
    """One side of one scale: how long, each request's latency, how many failed, and the CPU time
    spent serving (in-process: this process; server: its processes) and, for the server, by its
    client (this process)."""

    seconds: float
    latencies: tuple[float, ...]
    errors: int
    cpu_seconds: float
    client_cpu_seconds: float = 0.0

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1]

    @property
    def cpu_per_request(self) -> float:
        return self.cpu_seconds / len(self.latencies)

    @property
    def client_cpu_per_request(self) -> float:
        return self.client_cpu_seconds / len(self.latencies)

    def __add__(self, other: Run) -> Run:
        return Run(self.seconds + other.seconds, self.latencies + other.latencies, self.errors + other.errors,
                   self.cpu_seconds + other.cpu_seconds, self.client_cpu_seconds + other.client_cpu_seconds)


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process `pid` and its live descendants, from Linux's /proc."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except FileNotFoundError:  # exited meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        pending += map(int, children)
    return total


def fill_store(store: Storage, corpus: Path, limit: int) -> list[str]:
    """Ingest up to `limit` JPEGs from `corpus`; the ids stored."""
    stored = []
    for path in walk((corpus,))[:limit]:
        try:
            stored.append(ingest(store, path.read_bytes())[0].id)
        except PjstoreError as exc:  # a corpus may hold files pjstore refuses; they are not benchmarked
            print(f"skipped {path.name}: {exc}", file=sys.stderr)
    return stored


def requests_for(store: Storage, image_ids: list[str], scale: float, count: int) -> list[Request]:
    """`count` requests for `scale`, cycling over the images."""
    records = [store.info(i) for i in image_ids]
    return [Request(r.id, scale, r.offsets.entry(scale).offset,
                    f"/v1/images/{r.id}?scale={scale:g}")
            for r in itertools.islice(itertools.cycle(records), count)]


class Sides:
    """The two ways of serving a request, each from the same pool of `concurrency` threads: `render`
    in this process, and a GET over each thread's own keep-alive connection to `server`. The client
    is the standard library's http.client: it spends about 0.25 ms of CPU per GET against httpx's
    1.5 ms, and here that CPU comes out of the two cores the server runs on."""

    def __init__(self, store: Storage, server: RunningServer, concurrency: int, deadline: float) -> None:
        self.store, self.server, self.concurrency, self.deadline = store, server, concurrency, deadline
        self.pool = ThreadPoolExecutor(concurrency)
        host, port = server.url.removeprefix("http://").split(":")
        self._address = host, int(port)
        self._local = threading.local()  # each thread's connection, kept across rounds
        self._connections: list[http.client.HTTPConnection] = []

    def in_process(self, requests: list[Request]) -> Run:
        def serve(request: Request) -> bool:
            return render(self.store, request.image_id, scale=request.scale).bytes_read == request.offset

        started, cpu = time.perf_counter(), time.process_time()
        results = self._timed(serve, requests)
        return _run(time.perf_counter() - started, results, time.process_time() - cpu)

    def over_http(self, requests: list[Request]) -> Run:
        def get(request: Request) -> bool:
            connection = self._connection()
            try:
                connection.request("GET", request.target)
                response = connection.getresponse()
                response.read()
                return response.status == 200 and response.getheader(BYTES_READ) == str(request.offset)
            except (OSError, http.client.HTTPException):
                connection.close()  # reopened by the next request
                return False

        started, server_cpu, client_cpu = time.perf_counter(), tree_cpu_seconds(self.server.pid), time.process_time()
        results = self._timed(get, requests)
        client_cpu = time.process_time() - client_cpu
        server_cpu = tree_cpu_seconds(self.server.pid) - server_cpu
        return _run(time.perf_counter() - started, results, server_cpu, client_cpu)

    def compare(self, requests: list[Request], rounds: int) -> tuple[Run, Run]:
        """(in-process, server) over the same requests, alternating in `rounds` slices so that
        both sides see the same background load on a shared machine."""
        warm_up = requests[:self.concurrency]
        self.in_process(warm_up)
        self.over_http(warm_up)
        local = served = Run(0.0, (), 0, 0.0)
        for i in range(rounds):
            part = requests[i::rounds]
            local += self.in_process(part)
            served += self.over_http(part)
        return local, served

    def close(self) -> None:
        self.pool.shutdown()
        for connection in self._connections:
            connection.close()

    def _timed(self, serve: Callable[[Request], bool], requests: list[Request]) -> list[tuple[float, bool] | None]:
        """(latency, ok) of `serve` for each request, from the pool; None for those past the deadline."""
        def one(request: Request) -> tuple[float, bool] | None:
            if time.monotonic() > self.deadline:
                return None
            started = time.perf_counter()
            ok = serve(request)
            return time.perf_counter() - started, ok

        return list(self.pool.map(one, requests))

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = http.client.HTTPConnection(*self._address, timeout=60)
            self._connections.append(connection)
        return connection


def _run(seconds: float, results: list[tuple[float, bool] | None], cpu_seconds: float,
         client_cpu_seconds: float = 0.0) -> Run:
    """A Run from (latency, ok) per request; None marks a request skipped past the deadline."""
    done = [result for result in results if result is not None]
    return Run(seconds, tuple(latency for latency, _ in done), sum(not ok for _, ok in done), cpu_seconds,
               client_cpu_seconds)


def bench(store: Storage, server: RunningServer, image_ids: list[str],
          args: argparse.Namespace) -> list[tuple[float, Run, Run]]:
    """Each scale's (scale, in-process, server) runs."""
    sides = Sides(store, server, args.concurrency, time.monotonic() + args.max_seconds)
    try:
        return [(scale, *sides.compare(requests_for(store, image_ids, scale, args.requests), args.rounds))
                for scale in SCALES]
    finally:
        sides.close()


def report(rows: list[tuple[float, Run, Run]], requests: int) -> bool:
    """Print the side-by-side table; True if every scale meets the targets."""
    print(f"\n{'':>6} | {'in-process (render)':^30} | {'server (GET over loopback)':^45} | {'server/in-process':^17} |")
    print(f"{'scale':>6} | {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'cpu ms':>6} | {'req/s':>7} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'p99/p50':>7} {'cpu ms':>6} {'client':>6} | {'req/s':>8} {'cpu':>8} | {'errors':>6}")
    ok = True
    for scale, local, served in rows:
        ratio = served.throughput / local.throughput
        cpu_ratio = local.cpu_per_request / (served.cpu_per_request + served.client_cpu_per_request)
        tail = served.percentile(99) / served.percentile(50)
        errors = served.errors + local.errors
        complete = len(served.latencies) == len(local.latencies) == requests
        ok &= ratio >= TARGET_RATIO and tail <= TARGET_TAIL and errors == 0 and complete
        print(f"{scale:>6g} | {local.throughput:>7.1f} {1000 * local.percentile(50):>7.1f} "
              f"{1000 * local.percentile(99):>7.1f} {1000 * local.cpu_per_request:>6.2f} | "
              f"{served.throughput:>7.1f} {1000 * served.percentile(50):>7.1f} {1000 * served.percentile(99):>7.1f} "
              f"{tail:>7.2f} {1000 * served.cpu_per_request:>6.2f} {1000 * served.client_cpu_per_request:>6.2f} | "
              f"{ratio:>7.2f}x {cpu_ratio:>7.2f}x | {errors:>6}{'' if complete else '  (stopped at --max-seconds)'}")
    print("cpu ms: CPU time per request serving it (server: all its processes); client: the http.client threads', "
          "on the same cores.\nThe cpu ratio (in-process / server + client) is the req/s ratio wherever the cores are "
          "the bottleneck.")
    print(f"targets: server >= {TARGET_RATIO}x in-process throughput, p99 <= {TARGET_TAIL}x p50, zero errors: "
          f"{'met' if ok else 'NOT met'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, help="directory of JPEGs (default: the sample photos)")
    parser.add_argument("--images", type=int, default=50, help="at most this many images from the corpus")
    parser.add_argument("--requests", type=int, default=400, help="GETs per scale, on each side")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--rounds", type=int, default=4, help="alternate the two sides this many times per scale")
    parser.add_argument("--max-seconds", type=float, default=600, help="stop sending after this long")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pjstore-bench-") as tmp:
        location = Path(tmp) / "store"
        corpus = args.corpus or Path(tmp) / "samples"
        if args.corpus is None:
            write_samples(corpus)
        with open_storage(location) as store:
            image_ids = fill_store(store, corpus, args.images)
            if not image_ids:
                print("no images to benchmark", file=sys.stderr)
                return 1
            print(f"{len(image_ids)} images; {args.requests} GETs per scale per side, "
                  f"{args.concurrency} concurrent; server with {args.workers} workers")
            with running_server(location, "--workers", str(args.workers)) as server:
                rows = bench(store, server, image_ids, args)
    return 0 if report(rows, args.requests) else 1



if __name__ == "__main__":
    sys.exit(main())
