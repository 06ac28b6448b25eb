"""A person can look: side-by-side crops per scale, and the SSIMULACRA 2 distribution per scale.

    nice python eval/look.py /work/shared/corpus/photos --limit 40 --out eval/results/look-photos
    nice python eval/look.py /work/shared/corpus/hires --limit 4 --out eval/results/look-hires

The sample is the first `--limit` JPEGs of the corpus by name; every one is ingested with pjstore's
defaults into a temporary store and measured at every scale (pjstore/evaluation/look.py: pjstore's
served rendition, static copies, libvips Q 80, the smallest JPEG scoring 70). The sheet photos are
`--sheets` (3) of the sample spread by size: the smallest, the median and the largest by pixel count.
Each gets `sheet-NAME.png`: one row per scale, the contract reference beside each scheme's file,
1:1 crops of `--crop` pixels from the rendition's most detailed region (or the whole rendition
where smaller, then enlarged by whole pixels, said in the caption). Writes look.csv, summary.md
(the issue's table re-measured, and the distribution per scale and scheme) and ssimulacra2.png.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("VIPS_CONCURRENCY", "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import asdict, fields  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import NoReturn  # noqa: E402

from PIL import Image, ImageDraw, ImageFont  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pjstore.corpus import walk  # noqa: E402
from pjstore.errors import PjstoreError  # noqa: E402
from pjstore.evaluation.look import HIGH, Crops, LookRow, measure  # noqa: E402

SHOWN = ("pjstore", "static", "vips_q80")  # the distribution's schemes; smallest70 is the bytes yardstick
LABELS = {"pjstore": "pjstore (served)", "static": "static copies", "vips_q80": "libvips Q80",
          "smallest70": "smallest JPEG scoring 70"}
BANDS = (70.0, 50.0, 30.0)  # SSIMULACRA 2: high, medium, low quality


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def _whole(low: int, high: int | None = None):
    """An argparse type: a whole number in low..high."""
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if n < low or (high is not None and n > high):
            raise argparse.ArgumentTypeError(f"expected {low}..{high if high is not None else ''}, not {n}")
        return n
    return parse


def _sample(ap: _Parser, corpus: Path, limit: int) -> list[Path]:
    if not corpus.is_dir():
        ap.error(f"corpus {corpus}: not a directory")
    files = walk((corpus,))[:limit]
    if not files:
        ap.error(f"corpus {corpus}: no JPEG files in it")
    return files


def sheet_picks(files: list[Path], count: int) -> list[Path]:
    """`count` of `files` spread by pixel count: the smallest, the largest and evenly between (the
    median for one); reads headers only."""
    def pixels(p: Path) -> int:
        with Image.open(p) as im:
            return im.width * im.height

    ranked = sorted(files, key=lambda p: (pixels(p), p.name))
    if count >= len(ranked):
        return ranked
    if count == 1:
        return [ranked[len(ranked) // 2]]
    return [ranked[round(i * (len(ranked) - 1) / (count - 1))] for i in range(count)]


def _one(path: Path, crop: int | None) -> tuple[list[LookRow], list[Crops], float, str | None]:
    start = time.process_time()
    try:
        rows, crops = measure(path.name, path.read_bytes(), crop)
    except PjstoreError as exc:
        return [], [], time.process_time() - start, f"{path.name}: {type(exc).__name__}: {exc}"
    return rows, crops, time.process_time() - start, None


def _by(rows: list[LookRow], scale: float, scheme: str) -> list[LookRow]:
    return [r for r in rows if r.scale == scale and r.scheme == scheme]


def summarize(rows: list[LookRow], command: str, cpu_s: float, failures: list[str]) -> str:
    images = sorted({r.image for r in rows})
    scales = sorted({r.scale for r in rows})
    yardstick = {(r.image, r.scale): r.bytes for r in rows if r.scheme == "smallest70"}
    lines = [f"# What a viewer sees: {len(images)} images", "", f"    {command}", "",
             f"CPU time {cpu_s:.0f} s in total. Every file decoded and scored upright against the contract "
             "reference (the source in the served colour space, LANCZOS-resized). pjstore: ingested with its "
             "defaults, served by the read path. *vs 70* = bytes / the smallest libjpeg-turbo JPEG of the "
             "reference scoring SSIMULACRA 2 >= 70 (4:4:4 or 4:2:0), median per rendition (sum over "
             "renditions in brackets).", "",
             "| scale | pjstore SSIMULACRA 2, median (min) | JPEG quality chosen | bytes vs the smallest JPEG "
             "scoring 70 | libvips Q80, median (min) | static copies, median (min) |",
             "|---|---|---|---|---|---|"]
    for scale in scales:
        ours = _by(rows, scale, "pjstore")
        qualities = [r.quality for r in ours]
        lines.append(f"| {scale:.0%} | {_median_min(ours)} | {min(qualities)}-{max(qualities)} | "
                     f"{_versus(ours, yardstick)} | {_median_min(_by(rows, scale, 'vips_q80'))} | "
                     f"{_median_min(_by(rows, scale, 'static'))} |")
    lines += ["", "SSIMULACRA 2 per scale and scheme (30 low, 50 medium, 70 high, 90 visually lossless):", "",
              "| scale | scheme | n | median | min | below 70 | below 50 | below 30 | PSNR median | bytes vs 70 |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for scale in scales:
        for scheme in (*SHOWN, "smallest70"):
            rs = _by(rows, scale, scheme)
            s2 = [r.ssimulacra2 for r in rs]
            below = " | ".join(f"{sum(v < band for v in s2) / len(s2):.0%}" for band in BANDS)
            lines.append(f"| {scale:.0%} | {LABELS[scheme]} | {len(rs)} | {statistics.median(s2):.1f} | "
                         f"{min(s2):.1f} | {below} | {statistics.median(r.psnr for r in rs):.2f} | "
                         f"{_versus(rs, yardstick)} |")
    missed = [r for r in rows if not r.meets]
    if missed:
        lines += ["", "Quality 100 missed the target (the best copy kept): "
                  + ", ".join(f"{r.image} {r.scale:g} {r.scheme} ({r.ssimulacra2:.1f})" for r in missed)]
    if failures:
        lines += ["", "Not measured:", *[f"- {f}" for f in failures]]
    return "\n".join(lines) + "\n"


def _median_min(rs: list[LookRow]) -> str:
    s2 = [r.ssimulacra2 for r in rs]
    return f"{statistics.median(s2):.1f} ({min(s2):.1f})"


def _versus(rs: list[LookRow], yardstick: dict[tuple[str, float], int]) -> str:
    ratios = [r.bytes / yardstick[(r.image, r.scale)] for r in rs]
    total = sum(r.bytes for r in rs) / sum(yardstick[(r.image, r.scale)] for r in rs)
    return f"{statistics.median(ratios):.2f}x ({total:.2f}x)"


def plot(rows: list[LookRow], title: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scales = sorted({r.scale for r in rows})
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    width = 0.8 / len(SHOWN)
    for i, scheme in enumerate(SHOWN):
        data = [[r.ssimulacra2 for r in _by(rows, s, scheme)] for s in scales]
        where = [k + (i - (len(SHOWN) - 1) / 2) * width for k in range(len(scales))]
        parts = ax.boxplot(data, positions=where, widths=width * 0.9, patch_artist=True, showfliers=True,
                           flierprops={"markersize": 3})
        for box in parts["boxes"]:
            box.set_facecolor(f"C{i}")
            box.set_alpha(0.6)
        ax.plot([], [], "s", color=f"C{i}", label=LABELS[scheme])
    for band, name in zip(BANDS, ("high", "medium", "low"), strict=True):
        ax.axhline(band, color="grey", lw=0.8, ls="--")
        ax.text(len(scales) - 0.5, band + 1, name, fontsize=7, color="grey", ha="right")
    ax.set_xticks(range(len(scales)), [f"{s:.0%}" for s in scales])
    ax.set_xlabel("scale")
    ax.set_ylabel("SSIMULACRA 2 (against the ideal resize)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def sheet(image: str, rows: list[LookRow], crops: list[Crops], side: int, out: Path) -> None:
    """One row per scale: reference, then each shown scheme, each crop captioned."""
    font = ImageFont.load_default(size=11)
    pad, caption, title = 6, 30, 36
    columns = ("reference", *SHOWN)
    zooms = [max(1, side // max(c.reference.shape[:2])) for c in crops]
    heights = [c.reference.shape[0] * z + caption + pad for c, z in zip(crops, zooms, strict=True)]
    canvas = Image.new("RGB", (pad + (side + pad) * len(columns), title + sum(heights)), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((pad, 4), f"{image}: 1:1 crops, most detailed region (small renditions whole, enlarged)",
              fill="black", font=font)
    draw.text((pad, 18), "S2 = SSIMULACRA 2 vs the reference (70 high, 50 medium, 30 low); dB = PSNR; kB = whole file",
              fill="black", font=font)
    top = title
    for c, zoom, height in zip(crops, zooms, heights, strict=True):
        h, w = c.reference.shape[:2]
        for col, name in enumerate(columns):
            left = pad + col * (side + pad)
            pixels = c.reference if name == "reference" else c.schemes[name]
            canvas.paste(Image.fromarray(pixels).resize((w * zoom, h * zoom), Image.Resampling.NEAREST),
                         (left, top))
            if name == "reference":
                text = [f"reference {c.scale:.0%}, {c.size[0]}x{c.size[1]}",
                        f"crop {w}x{h} at {c.box[0]},{c.box[1]}" + (f", shown x{zoom}" if zoom > 1 else "")]
            else:
                (r,) = [r for r in _by(rows, c.scale, name) if r.image == image]
                text = [f"{LABELS[name]}: q{r.quality} {r.subsampling}",
                        f"{r.bytes / 1000:.1f} kB  S2 {r.ssimulacra2:.1f}  {r.psnr:.2f} dB"]
            for line_index, line in enumerate(text):
                draw.text((left, top + h * zoom + 2 + 13 * line_index), line, fill="black", font=font)
        top += height
    canvas.save(out, optimize=True)


def main() -> None:
    ap = _Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--out", type=Path, default=Path("eval/results/look"))
    ap.add_argument("--limit", type=_whole(1), default=10, help="images measured: the first N by name")
    ap.add_argument("--sheets", type=_whole(0, 10), default=3, help="sheet photos, spread by size over the sample")
    ap.add_argument("--crop", type=_whole(16, 1024), default=192, help="crop side in pixels (1:1)")
    ap.add_argument("--workers", type=_whole(1), default=1)
    a = ap.parse_args()
    files = _sample(ap, a.corpus, a.limit)  # checked before anything is written
    picks = set(sheet_picks(files, a.sheets)) if a.sheets else set()
    a.out.mkdir(parents=True, exist_ok=True)
    rows: list[LookRow] = []
    crops: dict[str, list[Crops]] = {}
    failures: list[str] = []
    cpu = 0.0
    with ProcessPoolExecutor(a.workers) as pool:
        jobs = pool.map(_one, files, [a.crop if p in picks else None for p in files])
        for done, (path, (got, cut, seconds, failure)) in enumerate(zip(files, jobs, strict=True), 1):
            rows += got
            cpu += seconds
            if cut:
                crops[path.name] = cut
            if failure:
                failures.append(failure)
            print(f"{done}/{len(files)} {path.name} {seconds:.0f} s", file=sys.stderr, flush=True)
    if not rows:
        sys.exit(f"{ap.prog}: no image could be measured: {'; '.join(failures)}")
    with open(a.out / "look.csv", "w", newline="") as f:
        w = csv.DictWriter(f, [x.name for x in fields(LookRow)])
        w.writeheader()
        w.writerows({**asdict(r), "ssimulacra2": f"{r.ssimulacra2:.3f}", "psnr": f"{r.psnr:.3f}"} for r in rows)
    command = shlex.join(["python", *sys.argv])
    (a.out / "summary.md").write_text(summarize(rows, command, cpu, failures))
    plot(rows, f"{a.corpus.name}: {len({r.image for r in rows})} images, SSIMULACRA 2 >= {HIGH:g} is high quality",
         a.out / "ssimulacra2.png")
    for image, cut in crops.items():
        sheet(image, rows, cut, a.crop, a.out / f"sheet-{Path(image).stem}.png")
    print((a.out / "summary.md").read_text())


if __name__ == "__main__":
    main()
