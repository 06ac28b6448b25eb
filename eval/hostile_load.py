"""Normal uploads' latency while hostile uploads stream in, against the same uploads on a quiet server.

    python eval/hostile_load.py [--rounds 3] [--seconds 10] [--uploaders 2] [--attackers 2]

Starts `pjstore serve --workers 2` on a free loopback port over a temporary store. In alternating
rounds (so other load on the machine falls on both alike) `--uploaders` threads upload distinct
generated JPEGs, alone ("quiet") or while `--attackers` threads send the hostile inputs of
tests/test_hostile.py in turn ("hostile"): a 200,000-byte fill run, 3000 repeated scans, an APP
flood, a 16.7 MB ICC profile, malformed ICC chunk sequences, Range headers with 4300-digit
numbers and repeated query parameters. Each attack body differs from the last (a fresh base
image), so none is answered from the store. Prints the normal uploads' p50/p99 in both
conditions and their ratio (target: hostile p99 <= 2x quiet), and the attackers' statuses (no
5xx allowed). Traffic goes to 127.0.0.1 only; rounds and seconds bound the run.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import httpx  # noqa: E402

from pjstore.samples import distinct  # noqa: E402

from edge_cases import after_soi, icc_chunks, segment, with_icc  # noqa: E402
from helpers import srgb_icc  # noqa: E402
from serving import running_server  # noqa: E402
from test_hostile import ff_run_in_first_scan, flat_progressive, repeated_scan  # noqa: E402

JPEG = {"Content-Type": "image/jpeg"}
TIMEOUT = 120.0


def attacks(seeds: itertools.count, image_path: str):
    """An endless cycle of hostile requests: (method, path, headers, body)."""
    flat = flat_progressive(2048)
    pieces = icc_chunks(srgb_icc(), 4)
    while True:
        base = distinct(next(seeds), max_side=160)
        yield "POST", "/v1/images", JPEG, ff_run_in_first_scan(base, 200_000)
        yield "POST", "/v1/images", JPEG, repeated_scan(flat, -1, 3000) + base[:8]  # distinct trailing bytes
        yield "POST", "/v1/images", JPEG, after_soi(base, segment(0xEC, b"x") * 5000)
        yield "POST", "/v1/images", JPEG, with_icc(base, [(i, 255, bytes(65519)) for i in range(1, 256)])
        yield "POST", "/v1/images", JPEG, with_icc(base, [(s, 4, pieces[s - 1]) for s in (2, 2, 3, 4)])
        yield "GET", f"{image_path}/original", {"Range": "bytes=0-" + "9" * 4300}, None
        yield "GET", f"{image_path}?scale=0.1&scale=0.5", {}, None


def run(url: str, seconds: float, uploaders: int, attackers: int, seeds: itertools.count,
        image_path: str, statuses: Counter) -> list[float]:
    """Normal upload latencies over `seconds`, with `attackers` hostile threads running meanwhile."""
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    lock = threading.Lock()

    def upload() -> None:
        with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
            while time.monotonic() < stop:
                body = distinct(next(seeds))
                started = time.monotonic()
                response = client.post("/v1/images", content=body, headers=JPEG)
                elapsed = time.monotonic() - started
                with lock:
                    statuses[f"normal {response.status_code}"] += 1
                    if response.status_code == 201:
                        latencies.append(elapsed)

    def attack() -> None:
        with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
            for method, path, headers, body in attacks(seeds, image_path):
                if time.monotonic() >= stop:
                    return
                response = client.request(method, path, headers=headers, content=body)
                with lock:
                    statuses[f"hostile {response.status_code}"] += 1

    threads = [threading.Thread(target=upload) for _ in range(uploaders)]
    threads += [threading.Thread(target=attack) for _ in range(attackers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def percentiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return 1000 * cuts[49], 1000 * cuts[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--uploaders", type=int, default=2)
    parser.add_argument("--attackers", type=int, default=2)
    args = parser.parse_args()
    seeds = itertools.count(10_000)
    quiet: list[float] = []
    hostile: list[float] = []
    statuses: Counter = Counter()
    with tempfile.TemporaryDirectory(prefix="pjstore-hostile-") as directory:
        with running_server(Path(directory) / "store", "--workers", "2", "--upload-queue", "8") as server:
            first = httpx.post(f"{server.url}/v1/images", content=distinct(1), headers=JPEG, timeout=TIMEOUT)
            image_path = first.headers["Location"]
            for _ in range(args.rounds):
                quiet += run(server.url, args.seconds, args.uploaders, 0, seeds, image_path, statuses)
                hostile += run(server.url, args.seconds, args.uploaders, args.attackers, seeds, image_path, statuses)
    (q50, q99), (h50, h99) = percentiles(quiet), percentiles(hostile)
    print(f"{args.rounds} rounds of {args.seconds:g} s each, {args.uploaders} uploaders, {args.attackers} attackers")
    print("| normal uploads | count | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    print(f"| quiet | {len(quiet)} | {q50:.0f} | {q99:.0f} |")
    print(f"| with hostile uploads | {len(hostile)} | {h50:.0f} | {h99:.0f} |")
    print(f"p99 ratio hostile / quiet: {h99 / q99:.2f} (target <= 2)")
    print("statuses:", dict(sorted(statuses.items())))
    fives = sum(n for key, n in statuses.items() if key.split()[1].startswith("5"))
    sys.exit(1 if fives or h99 > 2 * q99 else 0)


if __name__ == "__main__":
    main()
