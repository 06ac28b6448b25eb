"""Soak: sustained uploads and reads against `pjstore serve --workers 2`, then a check that
nothing was lost or corrupted.

    python eval/soak_server.py [--seconds 60] [--uploaders 8] [--readers 32] [-- SERVE_ARGS...]

Starts the server on a free loopback port over a temporary store, runs the uploaders (distinct
generated JPEGs) and readers (a stored scale or a random width of a known image, every answer
decoded and checked) for `--seconds`, checks that every image created is listed with its offsets
and served, and runs fsck on the store. Prints throughput, latency percentiles, failures and the
memory of the server's process tree (start, peak, end; last third over first third), both RSS
and its anonymous part: RSS also counts the store's pages mapped in, which grow with the store. Exits non-zero
on any failure. Traffic goes to 127.0.0.1 only; time and client counts bound the run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from soak import SoakResult, soak  # noqa: E402


def report(result: SoakResult, uploaders: int, readers: int) -> str:
    lines = [f"{uploaders} uploaders, {readers} readers, {result.seconds:.1f} s; "
             f"{result.images_stored} images stored at the end, fsck clean",
             "",
             "| | requests | per second | p50 ms | p95 ms | p99 ms |",
             "|---|---|---|---|---|---|"]
    for name, lat in (("uploads", result.uploads), ("reads", result.reads)):
        lines.append(f"| {name} | {lat.count} | {lat.per_second:.1f} | {lat.p50_ms:.0f} | {lat.p95_ms:.0f} "
                     f"| {lat.p99_ms:.0f} |")
    lines.append("")
    for name, m in (("RSS", result.memory), ("anonymous (heap) memory", result.heap)):
        lines.append(f"server {name}, all processes: start {m.start:.0f} MB, peak {m.peak:.0f} MB, "
                     f"end {m.end:.0f} MB; mean of the last third / first third {m.growth:.3f}")
    lines.append(f"5xx: {result.server_errors}; failures: {len(result.failures)}")
    lines += [f"  {failure}" for failure in result.failures[:20]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--uploaders", type=int, default=8)
    parser.add_argument("--readers", type=int, default=32)
    parser.add_argument("serve_args", nargs="*", default=["--upload-queue", "8"],
                        help="extra `pjstore serve` options (default: --upload-queue 8)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pjstore-soak-") as directory:
        result = soak(Path(directory) / "store", args.seconds, args.uploaders, args.readers, tuple(args.serve_args))
    print(report(result, args.uploaders, args.readers))
    sys.exit(1 if result.failures or result.server_errors else 0)


if __name__ == "__main__":
    main()
