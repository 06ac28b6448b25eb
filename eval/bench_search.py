"""Benchmark of the tuned scan search against the progressive, static and mozjpeg schemes.

    python eval/bench_search.py /work/shared/corpus/photos /work/shared/corpus/hires \
        [--every 4] [--variant name:key=value,...] [--csv eval/out/bench_search.csv] [--contract served]

Every image goes through every scheme in ONE run, each write in a fresh forked process, so its
CPU time (its own and jpegtran's) and peak RSS are that upload's alone:
  custom      `pjstore.ingest.prepare`, scheme custom: everything an upload costs (parse, search,
              transcode, offsets verified by real decode); the CSV's `plan` column says which
              plan was stored;
  progressive `prepare`, scheme progressive (libjpeg's default progression), the reference;
  mozjpeg     mozjpeg-lossless-optimization's `optimize` (its progressive scans, chosen for size
              alone); its offsets measured afterwards under the same contract, by real decode
              (the write CPU counts `optimize` only; under `--contract served` its served rows are
              found by the same recipe search as ingest's, not timed);
  +arith      with `--arithmetic`, progressive and each custom variant again with `--entropy
              arithmetic` (the same plans, arithmetic-coded: stored, reads and write CPU);
  static      source + a pre-resized baseline JPEG per scale at the lowest Pillow quality that
              meets the threshold (what the static scheme stores and reads; not timed).
`--contract` (default prefix, what the search is tuned on) is the contract every scheme is held to;
`served` measures everything a default upload costs, recipe search included.
Each corpus is split in two halves by the SHA-256 of the file name (`half`): defaults are chosen
on "tune" and must hold on "test". Printed per corpus and half, as totals over the images:
stored / source, read / source per scale and its ratio to progressive, write CPU per image and
per megapixel (median), peak RSS (median / max).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the targets are stated; before numpy
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import ast  # noqa: E402
import csv  # noqa: E402
import hashlib  # noqa: E402
import multiprocessing  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import fields, replace  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pjstore import corpus  # noqa: E402
from pjstore.encoder import metadata  # noqa: E402
from pjstore.encoder.structure import parse  # noqa: E402
from pjstore.evaluation.static_copies import icc_profile, make_copies  # noqa: E402
from pjstore.evaluation.timing import cpu_seconds  # noqa: E402
from pjstore.ingest import IngestOptions, prepare, served  # noqa: E402
from pjstore.offset_map import measure  # noqa: E402
from pjstore.quality.contract import QualityTarget, Reference  # noqa: E402
from pjstore.record import CONTRACTS  # noqa: E402
from pjstore.rendition.choose import DEFAULT_EGRESS  # noqa: E402
from pjstore.scan_search.options import SearchOptions  # noqa: E402

HALVES = ("tune", "test")


def half(path: Path) -> str:
    """The image's half of its corpus: fixed by its file name alone, so any run agrees."""
    return HALVES[hashlib.sha256(path.name.encode()).digest()[0] & 1]


def parse_variant(text: str) -> tuple[str, SearchOptions]:
    """``name:key=value,key=value`` -> (name, options); numbers and names as Python literals."""
    name, _, spec = text.partition(":")
    known = {f.name for f in fields(SearchOptions)}
    opts = {}
    for item in filter(None, spec.split(";" if ";" in spec else ",")):
        key, _, value = item.partition("=")
        if key not in known:
            raise SystemExit(f"unknown option {key!r}; one of {sorted(known)}")
        try:
            opts[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            opts[key] = value
    return name or "custom", replace(SearchOptions(), **opts)


def _write(job: tuple) -> dict:
    """One scheme's write of one image, in a fresh process: sizes, reads, CPU, peak RSS."""
    scheme, src, target, search, contract, entropy = job
    start = cpu_seconds()
    if scheme == "mozjpeg":
        import mozjpeg_lossless_optimization

        blob = mozjpeg_lossless_optimization.optimize(src)
        cpu = cpu_seconds() - start
        structure = parse(blob)
        offsets = measure(blob, structure.scan_ends, Reference.from_source(src, target))
        if contract == "served":
            kept = metadata.extract(blob, structure)
            offsets = served(blob, offsets, target, kept, structure.color_space == "GRAY", IngestOptions())[
                DEFAULT_EGRESS]
        stored, plan = len(blob), "mozjpeg"
    else:
        record = prepare(src, IngestOptions(scheme, target, search=search, contract=contract, entropy=entropy)).record
        cpu = cpu_seconds() - start
        offsets, stored, plan = record.offsets, record.stored_bytes, record.scheme
    row = {"stored": stored, "plan": plan, "cpu": cpu,
           "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    for s in target.scales:
        e = offsets.entry(s)
        row[f"read{s}"], row[f"score{s}"] = e.offset, e.score
    return row


def _static(src: bytes, target: QualityTarget) -> dict:
    copies = make_copies(Reference.from_source(src, target), icc_profile(src))
    row = {"stored": len(src) + sum(len(c.data) for c in copies), "plan": "static"}
    for s, c in zip(target.scales, copies, strict=True):
        row[f"read{s}"], row[f"score{s}"] = len(c.data), c.score
    return row


def in_fresh_process(job: tuple) -> dict:
    """Forked (cheap: the imports are inherited), a new process per job, so ru_maxrss is its own."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as ex:
        return ex.submit(_write, job).result()


def summarize(rows: list[dict], schemes: list[str], scales) -> list[str]:
    """One line per scheme: totals over `rows` (one corpus half), ratios to progressive."""
    lines = []
    by = {s: [r for r in rows if r["scheme"] == s] for s in schemes}
    base = by["progressive"]
    src = sum(r["source"] for r in base)
    for scheme in schemes:
        rs = by[scheme]
        if not rs:
            continue
        cols = [f"{scheme:12s}", f"stored {sum(r['stored'] for r in rs) / src:.4f}"
                f" ({sum(r['stored'] for r in rs) / sum(r['stored'] for r in base):.3f}x)"]
        for s in scales:
            read = sum(r[f"read{s}"] for r in rs)
            ratio = read / sum(r[f"read{s}"] for r in base)
            cols.append(f"@{s} {read / src:.4f} ({ratio:.2f}x) min {min(r[f'score{s}'] for r in rs):.2f}")
        if "cpu" in rs[0]:
            cols.append(f"cpu/img med {statistics.median(r['cpu'] for r in rs):.3f}s"
                        f" s/MP med {statistics.median(r['cpu'] / r['mp'] for r in rs):.3f}"
                        f" rss med {statistics.median(r['rss_mb'] for r in rs):.0f}"
                        f" max {max(r['rss_mb'] for r in rs):.0f} MB")
        lines.append(" | ".join(cols))
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path, nargs="+")
    ap.add_argument("--every", type=int, default=1, help="every Nth image of each corpus (subsets)")
    ap.add_argument("--half", choices=HALVES, help="only this half")
    ap.add_argument("--variant", action="append", default=[],
                    help="name:key=value,... over SearchOptions fields (repeatable; ';' separates "
                         "items when a value holds a comma)")
    ap.add_argument("--threshold", type=float, default=32.0)
    ap.add_argument("--no-static", action="store_true", help="skip the static scheme")
    ap.add_argument("--no-mozjpeg", action="store_true", help="skip mozjpeg")
    ap.add_argument("--csv", type=Path, default=Path("eval/out/bench_search.csv"))
    ap.add_argument("--contract", choices=CONTRACTS, default="prefix")
    ap.add_argument("--arithmetic", action="store_true", help="also every pjstore scheme arithmetic-coded")
    args = ap.parse_args()

    variants = [parse_variant(v) for v in args.variant] or [("custom", SearchOptions())]
    target = QualityTarget.uniform(threshold=args.threshold)
    pjstore_schemes = ["progressive", *(n for n, _ in variants)]
    arith = [f"{n}+arith" for n in pjstore_schemes] if args.arithmetic else []
    schemes = pjstore_schemes + arith + ["mozjpeg"] * (not args.no_mozjpeg) + ["static"] * (not args.no_static)
    rows: list[dict] = []
    for root in args.corpus:
        files = corpus.walk((root,))[:: args.every]
        files = [f for f in files if args.half in (None, half(f))]
        for n, path in enumerate(files, 1):
            src = path.read_bytes()
            frame = parse(src).frame
            meta = {"corpus": root.name, "half": half(path), "image": path.name, "source": len(src),
                    "mp": frame.width * frame.height / 1e6}
            jobs = [("progressive", "progressive", SearchOptions(), "huffman")]
            jobs += [(name, "custom", opts, "huffman") for name, opts in variants]
            jobs += [(f"{name}+arith", scheme, opts, "arithmetic") for name, scheme, opts, _ in jobs] * args.arithmetic
            jobs += [("mozjpeg", "mozjpeg", SearchOptions(), "huffman")] * (not args.no_mozjpeg)
            for name, scheme, opts, entropy in jobs:
                job = (scheme, src, target, opts, args.contract, entropy)
                rows.append({"scheme": name, **meta, **in_fresh_process(job)})
            if not args.no_static:
                rows.append({"scheme": "static", **meta, **_static(src, target)})
            print(f"  {root.name} {n}/{len(files)}", file=sys.stderr, flush=True)

    print(f"threshold {args.threshold} dB (PSNR, {args.contract} contract, every offset by real decode); totals "
          f"over each half: stored / source (x progressive), read / source per scale (x progressive) "
          f"and min score, write CPU (own + jpegtran) and peak RSS per image")
    for root in args.corpus:
        for h in HALVES:
            part = [r for r in rows if r["corpus"] == root.name and r["half"] == h]
            if part:
                images = sum(r["scheme"] == "progressive" for r in part)
                print(f"\n{root.name} / {h} ({images} images, {sum(r['mp'] for r in part) / len(schemes):.1f} MP)")
                print("\n".join(summarize(part, schemes, target.scales)))
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    keys = sorted({k for r in rows for k in r}, key=lambda k: (k != "scheme", k != "image", k))
    with args.csv.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
