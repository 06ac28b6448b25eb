"""WebP and AVIF renditions against the JPEG ones: served bytes, scores, render and write CPU.

    python eval/formats.py ../shared/corpus/photos --limit 40 --ingest-cost 10
    python eval/formats.py ../shared/corpus/hires/camera_{36,87,canon}*.jpg --ingest-cost 1

Each image is prepared as ingest does (served contract, k = 1.25, every format). Then every
stored scale is rendered by the read path in each format, decoded by Pillow and graded against
the served reference (the source in sRGB, LANCZOS, upright), and its CPU time taken
(process time: AVIF's encoder threads count). Reported per format and scale: renditions below
the threshold, served bytes in total against the JPEG renditions and the JPEG floor, and render
CPU per rendition; and what negotiation sends a client accepting WebP, or AVIF and WebP. For
the first `--ingest-cost` images the write is also timed without formats, giving what the format
searches add to an ingest. Prints a markdown summary.
"""

from __future__ import annotations

import argparse
import io
import math
import shlex
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pjstore.corpus import walk  # noqa: E402
from pjstore.errors import PjstoreError  # noqa: E402
from pjstore.ingest import IngestOptions, prepare  # noqa: E402
from pjstore.quality.contract import Reference  # noqa: E402
from pjstore.render.decode import EOI  # noqa: E402
from pjstore.render.orient import orient  # noqa: E402
from pjstore.render.pipeline import make_rendition  # noqa: E402
from pjstore.rendition.formats import AVAILABLE, FORMATS  # noqa: E402

# Accept-negotiated responses: the fewest bytes among the formats the client names (and JPEG).
NEGOTIATED = {"Accept: webp": ("jpeg", "webp"), "Accept: avif,webp": FORMATS}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def measure(name: str, source: bytes, time_ingest: bool) -> tuple[list[dict], dict]:
    """One row per (scale, format), and the write CPU with and without formats."""
    cost = {}
    if time_ingest:
        start = time.process_time()
        prepare(source, IngestOptions(formats=()))
        cost["jpeg_only"] = time.process_time() - start
    start = time.process_time()
    prepared = prepare(source, IngestOptions(formats=AVAILABLE))
    cost["with_formats"] = time.process_time() - start
    record, blob = prepared.record, prepared.blob
    rows = []
    references: dict[str, Reference] = {}
    for entry, threshold in zip(record.offsets.entries, (*record.thresholds, record.thresholds[-1]), strict=True):
        colour = entry.recipe.colour
        references.setdefault(colour, Reference.served(blob, record.target, colour))
        size = (entry.width, entry.height)
        want = np.asarray(orient(Image.fromarray(references[colour].at(size)), record.orientation))
        prefix = blob if entry.offset >= len(blob) else blob[:entry.offset] + EOI
        for fmt in FORMATS:
            stored = entry.format(fmt)
            if fmt != "jpeg" and stored is None:
                continue
            start = time.process_time()
            data, _ = make_rendition(prefix, entry.recipe, size, record.orientation, stored and stored.encoding)
            cpu = time.process_time() - start
            got = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
            rows.append({"image": name, "scale": entry.scale, "format": fmt, "bytes": len(data),
                         "floor": entry.floor_bytes, "jpeg": entry.served_bytes,
                         "score": psnr(want, got) if got.shape == want.shape else -1.0,
                         "threshold": threshold, "cpu": cpu})
    return rows, cost


def summarize(rows: list[dict], costs: list[dict], images: int, command: str) -> str:
    lines = [f"# Formats: {images} images", "", f"    {command}", "",
             "| scale | format | below threshold | worst PSNR | served bytes (sum) | / JPEG served | / JPEG floor "
             "| render CPU ms (mean) | / JPEG CPU |", "|---|---|---|---|---|---|---|---|---|"]
    by = defaultdict(list)
    renditions = defaultdict(dict)
    for r in rows:
        renditions[(r["image"], r["scale"])][r["format"]] = r
    for (_image, _scale), got in renditions.items():  # what negotiation sends each kind of client
        for client, formats in NEGOTIATED.items():
            best = min((got[f] for f in formats if f in got), key=lambda r: r["bytes"])
            rows.append({**best, "format": client})
    for r in rows:
        by[(r["scale"], r["format"])].append(r)
        by[("all", r["format"])].append(r)
    for scale in [*sorted({r["scale"] for r in rows}), "all"]:
        jpeg = by[(scale, "jpeg")]
        for fmt in (*FORMATS, *NEGOTIATED):
            rs = by[(scale, fmt)]
            if not rs:
                continue
            total = sum(r["bytes"] for r in rs)
            cpu = sum(r["cpu"] for r in rs) / len(rs)
            jpeg_cpu = sum(r["cpu"] for r in jpeg) / len(jpeg)
            below = sum(r["score"] < r["threshold"] for r in rs)
            lines.append(f"| {scale if scale == 'all' else f'{scale:g}'} | {fmt} | {below}/{len(rs)} "
                         f"| {min(r['score'] for r in rs):.2f} | {total:,} | {total / sum(r['jpeg'] for r in rs):.3f} "
                         f"| {total / sum(r['floor'] for r in rs):.3f} | {1000 * cpu:.1f} | {cpu / jpeg_cpu:.1f}x |")
    mean = sum(c["with_formats"] for c in costs) / len(costs)
    lines += ["", f"Write CPU with formats: {mean:.1f} s per image (mean)."]
    timed = [c for c in costs if "jpeg_only" in c]
    if timed:
        jpeg_only = sum(c["jpeg_only"] for c in timed)
        with_formats = sum(c["with_formats"] for c in timed)
        lines += ["", f"Write CPU on {len(timed)} images: {jpeg_only:.1f} s JPEG recipes only, {with_formats:.1f} s "
                      f"with {', '.join(AVAILABLE)} ({with_formats / jpeg_only:.2f}x; "
                      f"{(with_formats - jpeg_only) / len(timed):.2f} s per image for the format searches)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="+")
    ap.add_argument("--limit", type=int, default=None, help="first N images (sorted by path)")
    ap.add_argument("--ingest-cost", type=int, default=0, help="time the write without formats for the first N")
    ap.add_argument("--out", type=Path, default=None, help="also write the summary here")
    args = ap.parse_args(argv)
    paths = walk(tuple(args.corpus))[:args.limit]
    rows, costs, failures = [], [], []
    for i, path in enumerate(paths):
        try:
            got, cost = measure(path.name, path.read_bytes(), i < args.ingest_cost)
        except PjstoreError as exc:
            failures.append(f"{path.name}: {type(exc).__name__}: {exc}")
            continue
        rows += got
        costs.append(cost)
        print(f"{i + 1}/{len(paths)} {path.name}: write CPU {cost}", file=sys.stderr, flush=True)
    command = "python eval/formats.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    text = summarize(rows, costs, len(costs), command) + "".join(f"\nfailed: {f}" for f in failures)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
