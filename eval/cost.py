"""Cost model, measured: what an image costs per year on pjstore, on static copies, and resized on the fly.

    nice python eval/cost.py ../shared/corpus/hires ../shared/corpus/photos --limit 4
    python eval/cost.py CORPUS --prices egress_gb=0.05,cpu_core_hour=0.03 --views-per-year 365 --hit-ratio 0.95

Per image of each corpus (CPU time, one process, libvips on one thread with no operation cache):
  pjstore      `prepare` (the upload's whole write path, jpegtran included) and per stored scale
               below 1 the rendition its recipe makes from the stored prefix (eval/bench_render.py's
               call); stored = the file + its record; a miss reads the record and the prefix (S3: a
               HEAD and a ranged GET);
  static       the original kept, plus one libvips thumbnail per scale (quality 80) made at upload
               (bench_render's `vips` call, converting to sRGB where pjstore's recipe does); a miss
               reads the copy;
  on the fly   the original only; every miss reads it whole and runs that same libvips thumbnail
               (imgproxy's or thumbor's way);
  static at target  the original plus copies at the quality target pjstore meets (the evaluation's
               static baseline, pjstore.evaluation.static_copies: the lowest quality passing the
               threshold), since quality-80 copies fall short of it at small sizes.
Then the prices (pjstore.evaluation.pricing: defaults named and dated there) give each system's
cost per image and year, the read rates at which they break even, and the 25k / 1.2M / 1B table;
the page (default docs/cost.md) says which commit measured it. The write CPU moves with the search.
"""

from __future__ import annotations

import os

os.environ.setdefault("VIPS_CONCURRENCY", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import bench_render  # noqa: E402

from pjstore.corpus import read_source, scan  # noqa: E402
from pjstore.errors import PjstoreError  # noqa: E402
from pjstore.evaluation.pricing import (  # noqa: E402
    PRICE_SOURCES,
    PRICES_DATED,
    Prices,
    System,
    Workload,
    break_even,
    fleet_cost,
    year_cost,
)
from pjstore.evaluation.static_copies import icc_profile, make_copies  # noqa: E402
from pjstore.evaluation.timing import cpu_seconds, median_seconds  # noqa: E402
from pjstore.ingest import DEFAULT_MAX_BYTES, IngestOptions, prepare  # noqa: E402
from pjstore.quality.contract import QualityTarget, Reference, decode_rgb  # noqa: E402
from pjstore.render.colour import CONVERTS  # noqa: E402
from pjstore.rendition.choose import DEFAULT_EGRESS  # noqa: E402

STATIC_QUALITY = 80
FLEETS = (25_000, 1_200_000, 1_000_000_000)
VIEW_RATES = (12, 365, 3650, 36500)  # views per image per year shown beside the chosen one
PER = 1000  # per-image dollars are shown per this many images, to read as dollars rather than exponents


@dataclass(frozen=True)
class Measured:
    """One image: bytes, and CPU seconds; tuples per stored scale below 1."""

    name: str
    pixels: int
    source_bytes: int
    scales: tuple[float, ...]
    pjstore_stored: int
    pjstore_upload_cpu: float
    pjstore_view: tuple[int, ...]
    pjstore_miss_cpu: tuple[float, ...]
    pjstore_read: tuple[int, ...]
    pjstore_psnr: tuple[float, ...]
    vips_view: tuple[int, ...]
    vips_cpu: tuple[float, ...]
    vips_psnr: tuple[float, ...]
    target_view: tuple[int, ...]
    target_cpu: float


def measure(path: Path, repeats: int, options: IngestOptions) -> Measured:
    source = read_source(path, DEFAULT_MAX_BYTES)
    start = cpu_seconds()
    prepared = prepare(source, options)
    upload_cpu = cpu_seconds() - start
    record, blob = prepared.record, prepared.blob
    record_bytes = len(record.dumps())
    target = QualityTarget()
    references: dict[str, Reference] = {}
    rows = []
    for e in (e for e in record.offsets.entries if e.scale < 1):
        size = (e.width, e.height)
        fns = {"pjstore": bench_render.calls(source, blob, e, record.orientation)["pjstore"],
               "vips": partial(bench_render.vips, source, size, STATIC_QUALITY, e.recipe.colour in CONVERTS)}
        seconds = median_seconds(fns, repeats, 10.0, clock=time.process_time)
        served, copy = fns["pjstore"]()[0], fns["vips"]()
        if e.recipe.colour not in references:
            references[e.recipe.colour] = Reference.served(source, target, e.recipe.colour)
        copy_psnr = references[e.recipe.colour].score(decode_rgb(copy), e.scale)
        rows.append((e.scale, len(served), seconds["pjstore"], e.offset + record_bytes, e.score,
                     len(copy), seconds["vips"], copy_psnr))
    scales, view, miss_cpu, read, psnr, vips_view, vips_cpu, vips_psnr = zip(*rows, strict=True)
    start = cpu_seconds()
    copies = make_copies(Reference.from_source(source, target), icc_profile(source))
    target_cpu = cpu_seconds() - start
    if tuple(c.scale for c in copies) != scales:
        raise ValueError(f"{path.name}: static copies for {[c.scale for c in copies]}, pjstore's scales {scales}")
    return Measured(path.name, record.width * record.height, len(source), scales,
                    len(blob) + record_bytes, upload_cpu, view, miss_cpu, read, psnr,
                    vips_view, vips_cpu, vips_psnr, tuple(len(c.data) for c in copies), target_cpu)


def _mean(images: list[Measured], field: str) -> tuple[float, ...]:
    return tuple(statistics.mean(column) for column in zip(*(getattr(m, field) for m in images), strict=True))


def systems(images: list[Measured]) -> tuple[System, ...]:
    """pjstore, static copies, on-the-fly resizing and static copies at the target, from the per-image means."""
    source = statistics.mean(m.source_bytes for m in images)
    copies, vips_cpu = _mean(images, "vips_view"), _mean(images, "vips_cpu")
    at_target = _mean(images, "target_view")
    return (System("pjstore", statistics.mean(m.pjstore_stored for m in images),
                   statistics.mean(m.pjstore_upload_cpu for m in images), 1, _mean(images, "pjstore_view"),
                   _mean(images, "pjstore_miss_cpu"), _mean(images, "pjstore_read"), 2),
            System(f"static copies (libvips q{STATIC_QUALITY})", source + sum(copies), sum(vips_cpu),
                   1 + len(copies), copies, (0.0,) * len(copies), copies, 1),
            System("on the fly (libvips per miss)", source, 0.0, 1, copies, vips_cpu, (source,) * len(copies), 1),
            System("static copies at 32 dB", source + sum(at_target), statistics.mean(m.target_cpu for m in images),
                   1 + len(at_target), at_target, (0.0,) * len(at_target), at_target, 1))


def _commit(out: Path) -> str:
    """HEAD, and whether anything but the page about to be rewritten differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()

    try:
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", f":(exclude){out.resolve()}")
        return git("rev-parse", "--short", "HEAD") + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def _money(x: float) -> str:
    return f"${x:,.0f}" if abs(x) >= 100 else f"${x:.3g}"


def _size(n: float) -> str:
    for unit, scale in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n / 1e3:.3g} KB"


def _rate(views: float | None) -> str:
    return "never" if views is None else f"{views:,.0f}" if views >= 10 else f"{views:.2g}"


def section(corpus: str, images: list[Measured], failures: list[str], prices: Prices, workload: Workload,
            hit_ratio: float, cpu_s: float) -> list[str]:
    trio = systems(images)
    scales = images[0].scales
    sizes = " / ".join(f"{s:g}" for s in scales)
    source = statistics.mean(m.source_bytes for m in images)
    mp = statistics.mean(m.pixels for m in images) / 1e6
    lines = [f"## {corpus}: {len(images)} images, mean {mp:.2f} MP, {source / 1e3:,.0f} KB", "",
             f"Measuring took {cpu_s:.0f} CPU s. Means per image; sizes are the scales {sizes}.", "",
             "| system | stored (x source) | upload CPU s | PUTs | bytes sent per view | origin CPU ms per miss "
             "| stored bytes read per miss |", "|---|---|---|---|---|---|---|"]
    for s in trio:
        lines.append(f"| {s.name} | {s.stored_bytes:,.0f} ({s.stored_bytes / source:.2f}x) | {s.upload_cpu_s:.3g} "
                     f"| {s.upload_puts} | {' / '.join(f'{b:,.0f}' for b in s.view_bytes)} "
                     f"| {' / '.join(f'{1000 * c:.1f}' for c in s.miss_cpu_s)} "
                     f"| {' / '.join(f'{b:,.0f}' for b in s.miss_read_bytes)} |")
    pj_min = [min(col) for col in zip(*(m.pjstore_psnr for m in images), strict=True)]
    vp = list(zip(*(m.vips_psnr for m in images), strict=True))
    below = [sum(x < QualityTarget().thresholds[0] for x in col) for col in vp]
    lines += ["", f"Quality (PSNR against the contract's reference, per size {sizes}): pjstore's renditions are "
              f"verified at ingest, worst {' / '.join(f'{x:.1f}' for x in pj_min)} dB; the libvips q{STATIC_QUALITY} "
              f"copies are not: mean {' / '.join(f'{statistics.mean(c):.1f}' for c in vp)} dB, worst "
              f"{' / '.join(f'{min(c):.1f}' for c in vp)} dB, below 32 dB {' / '.join(map(str, below))} "
              f"of {len(images)}. The copies at 32 dB are the lowest quality meeting it (upload CPU: that "
              "search); the on-the-fly system serves the q80 copies' bytes.", ""]
    views = workload.requests_per_image
    mix = " / ".join(f"{m:g}" for m in workload.mix)
    lines += [f"Dollars per {PER:,} images and year at {views:,.0f} views per image (mix {mix}), CDN hit "
              f"ratio {hit_ratio:g}; the upload counted once, in the year:", "",
              "| system | storage | upload | egress | origin (CPU, requests) | CDN requests | total |",
              "|---|---|---|---|---|---|---|"]
    for s in trio:
        c = year_cost(s, prices, workload, hit_ratio)
        lines.append(f"| {s.name} | {_money(PER * c.storage)} | {_money(PER * c.upload)} | {_money(PER * c.egress)} "
                     f"| {_money(PER * c.origin)} | {_money(PER * c.cdn_requests)} | **{_money(PER * c.total)}** |")
    lines += ["", f"Dollars per {PER:,} images and year at other read rates (views per image per year):", "",
              "| system | " + " | ".join(f"{v:,}" for v in VIEW_RATES) + " |", "|---|" + "---|" * len(VIEW_RATES)]
    for s in trio:
        lines.append(f"| {s.name} | " + " | ".join(
            _money(PER * year_cost(s, prices, Workload(1, v, workload.mix), hit_ratio).total) for v in VIEW_RATES)
            + " |")
    lines += ["", "Break-even read rate (views per image per year at which the two cost the same):", ""]
    for i, a in enumerate(trio):
        for b in trio[i + 1:]:
            at = break_even(a, b, prices, workload, hit_ratio)
            fixed_a, fixed_b = (year_cost(s, prices, Workload(1, 0, workload.mix), hit_ratio).fixed for s in (a, b))
            low, high = (a, b) if fixed_a <= fixed_b else (b, a)
            if at is None:
                cheaper = a if year_cost(a, prices, workload, hit_ratio).total <= \
                    year_cost(b, prices, workload, hit_ratio).total else b
                lines.append(f"- {a.name} / {b.name}: none; {cheaper.name} is cheaper at every rate")
            else:
                lines.append(f"- {a.name} / {b.name}: **{_rate(at)}**; below it {low.name} is cheaper, above it "
                             f"{high.name}")
    lines += ["", f"At an image host's scale ({views:,.0f} views per image per year, as above):", "",
              "| images | " + " | ".join(f"{s.name}: stored, $/year" for s in trio) + " |",
              "|---|" + "---|" * len(trio)]
    for n in FLEETS:
        fleet = Workload(n, views, workload.mix)
        lines.append(f"| {n:,} | " + " | ".join(
            f"{_size(n * s.stored_bytes)}, {_money(fleet_cost(s, prices, fleet, hit_ratio))}"
            for s in trio) + " |")
    if failures:
        lines += ["", "Not measured:", *[f"- {f}" for f in failures]]
    return lines + [""]


def page(command: str, commit: str, sections: list[list[str]], prices: Prices, egress: float) -> str:
    lines = ["# What an image costs: pjstore, static copies, on-the-fly resizing", "",
             "Generated by `eval/cost.py`; do not edit by hand. Regenerate with:", "", f"    {command}", "",
             f"Measured at commit {commit} on {datetime.now(UTC):%Y-%m-%d}. The upload CPU is the write "
             "path's at that commit (the recipe search dominates it, and moves with it).", "",
             "Every system sits behind the same CDN: a view costs egress and a CDN request whoever serves it, "
             "and only a cache miss reaches the origin, where pjstore reads a prefix and renders it, static "
             "copies read a copy, and on-the-fly resizing reads the original and runs libvips. Stored bytes "
             "read in the same region are not priced. The libvips copies are quality 80 with no quality "
             f"check; pjstore's renditions are each verified to meet PSNR >= 32 dB at at most {egress:g}x the "
             f"floor's bytes (`--egress {egress:g}`; the floor is the smallest baseline JPEG of the size meeting "
             "it).", "", f"Prices ({PRICES_DATED}; `--prices NAME=DOLLARS,...` for yours):", "",
             "| name | $ | what |", "|---|---|---|"]
    lines += [f"| `{name}` | {getattr(prices, name):.4g} | {PRICE_SOURCES[name]} |" for name in PRICE_SOURCES]
    lines.append("")
    for s in sections:
        lines += s
    return "\n".join(lines)


def _prices(text: str) -> Prices:
    try:
        return Prices.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _mix(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of shares") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="+", type=Path, help="directories (or files) of JPEGs, one section each")
    ap.add_argument("--limit", type=int, help="the first N images (by name) of each corpus")
    ap.add_argument("--repeats", type=int, default=3, help="timed rounds per rendition (median)")
    ap.add_argument("--prices", type=_prices, default=Prices(), help="NAME=DOLLARS,... over the defaults")
    ap.add_argument("--views-per-year", type=float, default=3650.0, help="views per image per year")
    ap.add_argument("--hit-ratio", type=float, default=0.9, help="CDN cache hit ratio, 0..1")
    ap.add_argument("--mix", type=_mix, default=(0.5, 0.3, 0.2), help="share of views per stored scale below 1")
    ap.add_argument("--egress", type=float, default=DEFAULT_EGRESS,
                    help="pjstore's egress policy (ingest --egress): served bytes at most this times the floor")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "cost.md")
    a = ap.parse_args(argv)
    if a.limit is not None and a.limit < 1 or a.repeats < 1:
        ap.error("--limit and --repeats must be at least 1")
    if not 0 <= a.hit_ratio <= 1:
        ap.error(f"--hit-ratio must be within 0..1, not {a.hit_ratio:g}")
    try:
        workload = Workload(1, a.views_per_year, a.mix)
        options = IngestOptions(egress=a.egress)
    except ValueError as exc:
        ap.error(str(exc))
    if not a.out.parent.is_dir():
        ap.error(f"--out: no directory {a.out.parent}")
    corpora = []
    for corpus in a.corpus:
        if not corpus.exists():
            ap.error(f"{corpus}: no such file or directory")
        files = scan((corpus,)).files[: a.limit]
        if not files:
            ap.error(f"{corpus}: no JPEG files")
        corpora.append((corpus, files))
    command = shlex.join(["python", "eval/cost.py", *sys.argv[1:]] if argv is None else
                         ["python", "eval/cost.py", *argv])
    commit = _commit(a.out)
    sections = []
    for corpus, files in corpora:
        start, images, failures = cpu_seconds(), [], []
        for path in files:
            try:
                images.append(measure(path, a.repeats, options))
            except (PjstoreError, OSError) as exc:
                failures.append(f"{path.name}: {type(exc).__name__}: {exc}")
                print(f"FAIL {failures[-1]}", file=sys.stderr, flush=True)
                continue
            print(f"{path.name} ({images[-1].pixels / 1e6:.1f} MP)", file=sys.stderr, flush=True)
        if not images:
            print(f"error: {corpus}: no image could be measured; nothing written", file=sys.stderr)
            return 1
        if len({m.scales for m in images}) > 1 or len(images[0].scales) != len(a.mix):
            print(f"error: {corpus}: the mix has {len(a.mix)} shares for the scales "
                  f"{sorted({m.scales for m in images})}; nothing written", file=sys.stderr)
            return 2
        sections.append(section(corpus.name, images, failures, a.prices, workload, a.hit_ratio,
                                cpu_seconds() - start))
    text = page(command, commit, sections, a.prices, options.egress)
    partial_out = a.out.with_name(a.out.name + ".tmp")
    partial_out.write_text(text)
    partial_out.replace(a.out)  # a reader never sees half a page
    print(f"wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
