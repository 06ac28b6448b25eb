"""Benchmark of the tuned scan search against the progressive and static schemes.

    python eval/bench_search.py /work/shared/corpus/photos --limit 40 \
        --variant perbyte: --variant psnr:objective=quality --csv eval/out/search.csv

For every image, ONE run measures:
  custom      the ingest pipeline (`pjstore.ingest.prepare`: search, transcode, offsets verified
              by real decode, the default plan kept where it reads less), timed end to end on
              one core; the CSV's `plan` column says which plan was stored;
  progressive libjpeg's default progression, offsets by real decode;
  static      source + a pre-resized baseline JPEG per scale at the lowest Pillow quality that
              meets the threshold (what the static scheme would have to store and read).
Read fraction = prefix bytes / source bytes. Ratios are custom / progressive.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the target is stated; before numpy
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import ast  # noqa: E402
import csv  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import fields, replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pjstore.evaluation.static_copies import icc_profile, make_copies  # noqa: E402
from pjstore.ingest import IngestOptions, prepare  # noqa: E402
from pjstore.offset_map import OffsetMap  # noqa: E402
from pjstore.record import ImageRecord  # noqa: E402
from pjstore.quality.contract import QualityTarget, Reference  # noqa: E402
from pjstore.scan_search.options import SearchOptions  # noqa: E402


def ingest_with(src: bytes, options: IngestOptions) -> tuple[ImageRecord, bytes]:
    """Exactly what the write path does for one upload (search, transcode, verified offsets)."""
    prepared = prepare(src, options)
    return prepared.record, prepared.blob


def static_sizes(src: bytes, target: QualityTarget) -> list[tuple[int, float]]:
    """Per scale: (bytes, score) of the static scheme's pre-resized copy (pjstore.evaluation)."""
    copies = make_copies(Reference.from_source(src, target), icc_profile(src))
    return [(len(c.data), c.score) for c in copies]


def parse_variant(text: str) -> tuple[str, SearchOptions]:
    """``name:key=value,key=value`` -> (name, options); numbers and names as Python literals."""
    name, _, spec = text.partition(":")
    known = {f.name for f in fields(SearchOptions)}
    opts = {}
    for item in filter(None, spec.split(",")):
        key, _, value = item.partition("=")
        if key not in known:
            raise SystemExit(f"unknown option {key!r}; one of {sorted(known)}")
        try:
            opts[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            opts[key] = value
    return name or "custom", replace(SearchOptions(), **opts)


def summarize(name: str, rows: list[dict], scales, prog_rows: list[dict] | None) -> list[str]:
    lines = []
    src = np.array([r["source"] for r in rows], float)
    cols = [name]
    for s in scales:
        read = np.array([r[f"read{s}"] for r in rows]) / src
        score = np.array([r[f"score{s}"] for r in rows])
        ratio = ""
        if prog_rows is not None:
            pread = np.array([r[f"read{s}"] for r in prog_rows]) / src
            ratio = f" ({read.mean() / pread.mean():.2f}x)"
        cols.append(f"{read.mean():.4f}{ratio} psnr {score.mean():.1f}/{score.min():.2f}")
    stored = np.array([r["stored"] for r in rows]) / src
    cols.append(f"stored {stored.mean():.3f}")
    if "scans" in rows[0]:
        cols.append(f"scans {np.mean([r['scans'] for r in rows]):.1f}")
    if "seconds" in rows[0]:
        t = sorted(r["seconds"] for r in rows)
        cols.append(f"time med {statistics.median(t):.3f}s p95 {t[int(0.95 * (len(t) - 1))]:.3f}s")
    lines.append(" | ".join(cols))
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--limit", type=int, default=0, help="first N images (0 = all)")
    ap.add_argument("--variant", action="append", default=[],
                    help="name:key=value,... over SearchOptions fields (repeatable)")
    ap.add_argument("--threshold", type=float, default=32.0)
    ap.add_argument("--no-static", action="store_true", help="skip the static scheme")
    ap.add_argument("--csv", type=Path, default=Path("eval/out/bench_search.csv"))
    args = ap.parse_args()

    variants = [parse_variant(v) for v in args.variant] or [("custom", SearchOptions())]
    target = QualityTarget.uniform(threshold=args.threshold)
    scales = target.scales
    files = sorted(p for p in args.corpus.iterdir() if p.is_file())
    files = files[: args.limit] if args.limit else files
    rows: dict[str, list[dict]] = {name: [] for name, _ in variants}
    rows["progressive"] = []
    rows["static"] = []

    def record(scheme: str, path: Path, src: bytes, stored: int, scans: int | None,
               offsets: OffsetMap | None, static=None, seconds: float | None = None, plan: str = "") -> None:
        row = {"scheme": scheme, "image": path.name, "source": len(src), "stored": stored, "plan": plan or scheme}
        for i, s in enumerate(scales):
            if offsets is not None:
                e = offsets.entry(s)
                row[f"read{s}"], row[f"score{s}"] = e.offset, e.score
            else:
                row[f"read{s}"], row[f"score{s}"] = static[i]
        if scans is not None:
            row["scans"] = scans
        if seconds is not None:
            row["seconds"] = seconds
        rows[scheme].append(row)

    for n, path in enumerate(files, 1):
        src = path.read_bytes()
        for name, options in variants:
            t0 = time.perf_counter()
            rec, _ = ingest_with(src, IngestOptions("custom", target, search=options))
            seconds = time.perf_counter() - t0
            record(name, path, src, rec.stored_bytes, rec.scans, rec.offsets, seconds=seconds, plan=rec.scheme)
        rec, _ = ingest_with(src, IngestOptions("progressive", target))
        record("progressive", path, src, rec.stored_bytes, rec.scans, rec.offsets)
        if not args.no_static:
            st = static_sizes(src, target)
            record("static", path, src, len(src) + sum(b for b, _ in st), None, None, static=st)
        if n % 20 == 0:
            print(f"  {n}/{len(files)}", file=sys.stderr)

    print(f"{len(files)} images from {args.corpus}, threshold {args.threshold} dB; per scale "
          f"{'/'.join(str(s) for s in scales)}: read fraction mean (ratio vs progressive) "
          "psnr mean/min")
    for name, _ in variants:
        print("\n".join(summarize(name, rows[name], scales, rows["progressive"])))
    print("\n".join(summarize("progressive", rows["progressive"], scales, None)))
    if rows["static"]:
        print("\n".join(summarize("static", rows["static"], scales, rows["progressive"])))
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    keys = sorted({k for rs in rows.values() for r in rs for k in r}, key=lambda k: (k != "scheme", k != "image", k))
    with args.csv.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for rs in rows.values():
            w.writerows(rs)


if __name__ == "__main__":
    main()
