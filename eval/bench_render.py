"""Render benchmark: CPU time per rendition of pjstore's read path against libvips and Pillow.

    python eval/bench_render.py ../shared/corpus/hires --limit 5
    python eval/bench_render.py ../shared/corpus/photos --limit 40 --no-memory

Per image and stored scale, one run, side by side, the same exact output size and encoder quality:
  pjstore   the read path on the scale's stored prefix, as its served-contract recipe says
            (`pjstore.render.pipeline.make_rendition`: decode with the recipe's draft, colour,
            LANCZOS, encode; the prefix already in memory, as an LMDB read is a memory map);
  vips      pyvips `thumbnail_buffer` of the whole source (shrink-on-load), written as JPEG
            (imgproxy's engine; one libvips thread, no operation cache), converted to sRGB where
            the recipe converts (imgproxy's default; libvips' thumbnail alone does not convert);
  pillow    Pillow of the whole source: `draft` to at least twice the size, then LANCZOS, encode.
CPU time (time.process_time, all threads) per call, median of rounds run round-robin. With memory
on, each variant renders the largest image's scales once more in a fresh process and reports its
peak resident memory above what the process held just before (the kernel's VmHWM, reset first).
"""

from __future__ import annotations

import os

os.environ.setdefault("VIPS_CONCURRENCY", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import io  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402

from pjstore.corpus import walk  # noqa: E402
from pjstore.evaluation.timing import median_seconds  # noqa: E402
from pjstore.ingest import prepare  # noqa: E402
from pjstore.render.colour import CONVERTS  # noqa: E402
from pjstore.render.decode import EOI  # noqa: E402
from pjstore.render.encode import encode  # noqa: E402
from pjstore.render.pipeline import make_rendition  # noqa: E402

VARIANTS = ("pjstore", "vips", "pillow")


def vips(source: bytes, size: tuple[int, int], quality: int, to_srgb: bool = False) -> bytes:
    import pyvips

    pyvips.cache_set_max(0)
    colour = {"export_profile": "srgb"} if to_srgb else {}
    thumb = pyvips.Image.thumbnail_buffer(source, size[0], height=size[1], size="force", no_rotate=True, **colour)
    return thumb.write_to_buffer(".jpg", Q=quality, optimize_coding=True, strip=True)


def pillow(source: bytes, size: tuple[int, int], quality: int) -> bytes:
    im = Image.open(io.BytesIO(source))
    im.draft("RGB", (2 * size[0], 2 * size[1]))
    return encode(im.convert("RGB").resize(size, Image.LANCZOS), quality)


def calls(source: bytes, blob: bytes, entry, orientation: int) -> dict:
    prefix = blob if entry.offset >= len(blob) else blob[:entry.offset] + EOI
    size = (entry.width, entry.height)
    return {"pjstore": partial(make_rendition, prefix, entry.recipe, size, orientation),
            "vips": partial(vips, source, size, entry.recipe.quality, entry.recipe.colour in CONVERTS),
            "pillow": partial(pillow, source, size, entry.recipe.quality)}


def peak_memory(path: Path, blob: bytes, record, variant: str, scale_index: int) -> int:
    """Peak RSS (KB) above the resident size just before, of a fresh process rendering one scale
    once: the kernel's high-water mark (VmHWM) is reset first (Linux `clear_refs` 5)."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "stored.jpg").write_bytes(blob)
        (Path(tmp) / "record.json").write_bytes(record.dumps())
        code = f"""
import gc, sys
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
import bench_render as b
from pjstore.record import ImageRecord
source = open({str(path)!r}, 'rb').read()
blob = open({tmp + '/stored.jpg'!r}, 'rb').read()
record = ImageRecord.loads(open({tmp + '/record.json'!r}, 'rb').read())
e = record.offsets.entries[{scale_index}]
fn = b.calls(source, blob, e, record.orientation)[{variant!r}]
def status(field):
    for line in open('/proc/self/status'):
        if line.startswith(field + ':'):
            return int(line.split()[1])
gc.collect()
open('/proc/self/clear_refs', 'w').write('5')
base = status('VmRSS')
fn()
print(status('VmHWM') - base)
"""
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return int(got.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-memory", action="store_true")
    a = ap.parse_args()
    files = walk((a.corpus,))[: a.limit]
    per: dict[tuple[float, str], list[float]] = {}
    pixels, prepared = {}, {}
    for path in files:
        source = path.read_bytes()
        p = prepare(source)
        pixels[path], prepared[path] = p.record.width * p.record.height, p
        for e in p.record.offsets.entries:
            seconds = median_seconds(calls(source, p.blob, e, p.record.orientation), a.repeats, 10.0,
                                     clock=time.process_time)
            for v in VARIANTS:
                per.setdefault((e.scale, v), []).append(seconds[v])
        print(f"{path.name} ({pixels[path] / 1e6:.1f} MP)", file=sys.stderr, flush=True)
    scales = sorted({s for s, _ in per})
    print(f"    {shlex.join(['python', *sys.argv])}\n")
    print(f"{len(files)} images, mean {statistics.mean(pixels.values()) / 1e6:.1f} MP. CPU ms per rendition "
          "(sum over images / images); ratio = pjstore / other.\n")
    print("| scale | pjstore | vips thumbnail | pillow draft+LANCZOS | pjstore/vips | pjstore/pillow |")
    print("|---|---|---|---|---|---|")
    for s in scales:
        t = {v: 1000 * sum(per[(s, v)]) / len(files) for v in VARIANTS}
        print(f"| {s:g} | {t['pjstore']:.1f} | {t['vips']:.1f} | {t['pillow']:.1f} | "
              f"{t['pjstore'] / t['vips']:.2f}x | {t['pjstore'] / t['pillow']:.2f}x |")
    if not a.no_memory:
        largest = max(pixels, key=pixels.get)
        print(f"\nPeak memory above baseline per rendition (MB, VmHWM), {largest.name} "
              f"({pixels[largest] / 1e6:.1f} MP):\n")
        print("| scale | " + " | ".join(VARIANTS) + " |")
        print("|---|" + "---|" * len(VARIANTS))
        p = prepared[largest]
        for i, e in enumerate(p.record.offsets.entries):
            kb = [peak_memory(largest, p.blob, p.record, v, i) for v in VARIANTS]
            print(f"| {e.scale:g} | " + " | ".join(f"{k / 1024:.0f}" for k in kb) + " |")


if __name__ == "__main__":
    main()
