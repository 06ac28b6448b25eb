"""jpegli against libjpeg-turbo for pjstore's renditions: the smallest baseline JPEG meeting a target.

    python eval/encoders.py ../shared/corpus/hires --limit 3 > eval/results/encoders-hires.md
    python eval/encoders.py ../shared/corpus/photos --limit 16 > eval/results/encoders-photos.md
    python eval/encoders.py ../shared/corpus/photos --limit 4 --ingest > eval/results/encoders-ingest-photos.md

Per image and scale (10/25/50/100%), both encoders get the same pixels: the contract's reference
(the source decoded, LANCZOS to the scale's exact size), what an ideal render would serve. Per
metric (SSIMULACRA 2 >= 70, PSNR >= 32), each encoder's lowest quality whose file, decoded, meets
the target (pjstore.rendition.choose.lowest_quality: bisection, galloping from the previous
scale's answer), through pjstore's own encode step (pjstore.render.encode), at its best chroma:
libjpeg-turbo at 4:4:4 and 4:2:0, the smaller kept; jpegli at 4:2:0, all pyjpegli writes.
Encode CPU (time.process_time, all threads) of each smallest file, median of rounds run
round-robin, per megapixel of output. `n`: renditions both encoders can meet the target of; where
jpegli cannot at any quality (its 4:2:0 on small renditions) and libjpeg-turbo can, it is a miss.
`same bytes` checks each jpegli file is what a fresh
process encodes from the same pixels (renditions must be reproducible: ETags).

With --ingest, what the recipe search makes of it: each image prepared as ingest does (served
contract, k = 1.25) under each metric's default target, with the search's jpegli step and without
it (`choose.smaller_by_jpegli` patched to keep libjpeg-turbo's choice; the stored file is the same):
served bytes per scale against the (libjpeg-turbo) floor, renditions jpegli serves, and the write's
CPU time either way.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402
from unittest import mock  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from pjstore.corpus import walk  # noqa: E402
from pjstore.evaluation.timing import median_seconds  # noqa: E402
from pjstore.ingest import IngestOptions, prepare  # noqa: E402
from pjstore.quality.contract import QualityTarget, Reference, decode_rgb  # noqa: E402
from pjstore.quality.metrics import DEFAULT_THRESHOLDS, METRICS  # noqa: E402
from pjstore.render.encode import JPEGLI, JPEGLI_SUBSAMPLING, LIBJPEG_TURBO, encode  # noqa: E402
from pjstore.rendition import choose  # noqa: E402
from pjstore.rendition.choose import lowest_quality  # noqa: E402

SCALES = (0.1, 0.25, 0.5, 1.0)
SETTINGS = ((LIBJPEG_TURBO, "4:4:4"), (LIBJPEG_TURBO, "4:2:0"), (JPEGLI, JPEGLI_SUBSAMPLING))
ENCODER_NAMES = (LIBJPEG_TURBO, JPEGLI)

# Run in a fresh process: the sha256 of jpegli's encode of the raw RGB on stdin.
FRESH = """import sys, hashlib, pyjpegli
w, h, q = map(int, sys.argv[1:])
print(hashlib.sha256(pyjpegli.encode(sys.stdin.buffer.read(), w, h, q)).hexdigest())"""


@dataclass(frozen=True)
class Smallest:
    encoder: str
    subsampling: str
    quality: int
    data: bytes
    score: float


def smallest(image: Image.Image, want: np.ndarray, metric: str, encoder: str, subsampling: str,
             guess: int | None) -> Smallest | None:
    """`encoder`'s lowest quality whose encoding of `image` scores at least the metric's default threshold."""
    def at(q: int) -> tuple[bytes, float]:
        data = encode(image, q, None, subsampling, encoder)
        return data, METRICS[metric](want, np.asarray(decode_rgb(data)))

    found = lowest_quality(at, lambda e: e[1] >= DEFAULT_THRESHOLDS[metric], guess)
    if found is None:
        return None
    q, (data, score) = found
    return Smallest(encoder, subsampling, q, data, score)


def reproducible(image: Image.Image, best: Smallest) -> bool:
    """Whether a fresh process's jpegli encode of the same pixels is byte-identical."""
    got = subprocess.run([sys.executable, "-c", FRESH, str(image.width), str(image.height), str(best.quality)],
                         input=image.tobytes(), capture_output=True, check=True)
    return got.stdout.decode().strip() == hashlib.sha256(best.data).hexdigest()


def ingested(files: list[Path], metrics: list[str]) -> None:
    """The --ingest tables: served bytes and write CPU with the search's jpegli step and without."""
    print(f"    {shlex.join(['python', *sys.argv])}\n")
    print(f"{len(files)} images. Served bytes (sums over images) with the jpegli step / without it; "
          "served / floor (libjpeg-turbo's) either way; renditions served by jpegli; write CPU "
          "(prepare, time.process_time) per image, mean.\n")
    print("| metric >= | scale | served with / without | served/floor with | without | jpegli rows | "
          "write CPU s with / without |")
    print("|---|---|---|---|---|---|---|")
    for metric in metrics:
        options = IngestOptions(target=QualityTarget.uniform(threshold=DEFAULT_THRESHOLDS[metric], metric=metric))
        rows: dict[bool, list] = {True: [], False: []}
        cpu = {True: 0.0, False: 0.0}
        for path in files:
            source = path.read_bytes()
            for with_jpegli in (True, False):
                started = time.process_time()
                if with_jpegli:
                    record = prepare(source, options).record
                else:
                    with mock.patch.object(choose, "smaller_by_jpegli", lambda chosen, *_: chosen):
                        record = prepare(source, options).record
                cpu[with_jpegli] += time.process_time() - started
                rows[with_jpegli] += record.offsets.entries
            print(f"{path.name} {metric}", file=sys.stderr, flush=True)
        for scale in sorted({e.scale for e in rows[True]}) + [None]:
            at = {w: [e for e in rs if scale is None or e.scale == scale] for w, rs in rows.items()}
            served = {w: sum(e.served_bytes for e in es) for w, es in at.items()}
            floor = {w: sum(e.floor_bytes for e in es) for w, es in at.items()}
            used = sum(e.recipe.encoder == JPEGLI for e in at[True])
            t = {w: c / len(files) for w, c in cpu.items()}
            print(f"| {metric} {DEFAULT_THRESHOLDS[metric]:g} | {'all' if scale is None else f'{scale:g}'} | "
                  f"{served[True] / served[False]:.3f} | {served[True] / floor[True]:.3f} | "
                  f"{served[False] / floor[False]:.3f} | {used} of {len(at[True])} | "
                  + (f"{t[True]:.1f} / {t[False]:.1f} |" if scale is None else " |"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path, nargs="+", help="JPEG files or directories")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--metrics", nargs="+", default=["ssimulacra2", "psnr"], choices=sorted(METRICS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ingest", action="store_true", help="the recipe search's outcome with and without jpegli")
    a = ap.parse_args()
    if missing := [str(p) for p in a.corpus if not p.exists()]:
        ap.error(f"no such file or directory: {', '.join(missing)}")
    if (a.limit is not None and a.limit < 1) or a.repeats < 1:
        ap.error("--limit and --repeats must be at least 1")
    files = walk(tuple(a.corpus))[: a.limit]
    if a.ingest:
        ingested(files, a.metrics)
        return
    # (metric, scale) -> per image: encoder -> Smallest; and encoder -> CPU s per MP
    best: dict[tuple[str, float], list[dict[str, Smallest]]] = {}
    cpu: dict[tuple[str, float], list[dict[str, float]]] = {}
    missed: dict[tuple[str, float], int] = {}  # renditions libjpeg-turbo met and jpegli could not
    same, searched, megapixels = 0, 0, []
    started = time.process_time()
    for path in files:
        reference = Reference.from_source(path.read_bytes(), QualityTarget.uniform())
        megapixels.append(reference.width * reference.height / 1e6)
        guesses: dict[tuple[str, str, str], int] = {}
        for scale in SCALES:
            size = reference.size(scale)
            want = reference.at(size)
            image = Image.fromarray(want)
            for metric in a.metrics:
                per: dict[str, Smallest] = {}
                for encoder, subsampling in SETTINGS:
                    key = (metric, encoder, subsampling)
                    found = smallest(image, want, metric, encoder, subsampling, guesses.get(key))
                    if found is None:
                        continue
                    guesses[key] = found.quality
                    if encoder not in per or len(found.data) < len(per[encoder].data):
                        per[encoder] = found
                if set(per) != set(ENCODER_NAMES):
                    if LIBJPEG_TURBO in per:
                        missed[metric, scale] = missed.get((metric, scale), 0) + 1
                    continue
                best.setdefault((metric, scale), []).append(per)
                print(f"  {scale:g} {metric}: " + ", ".join(f"{e} q{s.quality} {s.subsampling} {len(s.data)} B"
                                                           for e, s in per.items()), file=sys.stderr, flush=True)
                calls: dict[str, Callable[[], object]] = {
                    e: partial(encode, image, per[e].quality, None, per[e].subsampling, e) for e in ENCODER_NAMES}
                seconds = median_seconds(calls, a.repeats, 5.0, clock=time.process_time)
                cpu.setdefault((metric, scale), []).append({e: t / (size[0] * size[1] / 1e6)
                                                             for e, t in seconds.items()})
                same += reproducible(image, per[JPEGLI])
                searched += 1
        print(f"{path.name} ({megapixels[-1]:.1f} MP)", file=sys.stderr, flush=True)
    print(f"    {shlex.join(['python', *sys.argv])}\n")
    print(f"{len(files)} images, mean {statistics.mean(megapixels):.1f} MP; "
          f"{time.process_time() - started:.0f} CPU s. Per rendition, the smallest baseline JPEG of the same "
          "pixels meeting the target: jpegli bytes / libjpeg-turbo bytes (turbo at its better chroma); "
          "encode CPU ms per output MP, median. `same bytes`: jpegli files a fresh process re-encoded "
          f"byte-identically: {same} of {searched}.\n")
    print("| metric >= | scale | n | jpegli/turbo bytes, median (min-max) | total | turbo 4:4:4 chosen | "
          "quality turbo / jpegli, median | encode ms/MP turbo / jpegli |")
    print("|---|---|---|---|---|---|---|---|")
    for metric, scale in sorted(missed.keys() - best.keys()):
        print(f"| {metric} {DEFAULT_THRESHOLDS[metric]:g} | {scale:g} | 0 (jpegli missed {missed[metric, scale]}) "
              "| | | | | |")
    for (metric, scale), rows in sorted(best.items()):
        ratios = [len(r[JPEGLI].data) / len(r[LIBJPEG_TURBO].data) for r in rows]
        total = sum(len(r[JPEGLI].data) for r in rows) / sum(len(r[LIBJPEG_TURBO].data) for r in rows)
        full = sum(r[LIBJPEG_TURBO].subsampling == "4:4:4" for r in rows)
        q = {e: statistics.median(r[e].quality for r in rows) for e in ENCODER_NAMES}
        t = {e: 1000 * statistics.median(c[e] for c in cpu[(metric, scale)]) for e in ENCODER_NAMES}
        n = f"{len(rows)}" + (f" (jpegli missed {missed[metric, scale]})" if (metric, scale) in missed else "")
        print(f"| {metric} {DEFAULT_THRESHOLDS[metric]:g} | {scale:g} | {n} | {statistics.median(ratios):.3f} "
              f"({min(ratios):.3f}-{max(ratios):.3f}) | {total:.3f} | {full} of {len(rows)} | "
              f"{q[LIBJPEG_TURBO]:g} / {q[JPEGLI]:g} | {t[LIBJPEG_TURBO]:.1f} / {t[JPEGLI]:.1f} |")


if __name__ == "__main__":
    main()
