"""Peak memory of one ingest (`pjstore.ingest.prepare`) per megapixel, for the pixel limit.

    python eval/ingest_memory.py --megapixels 1,4,16 [--kind solid|photo] [--scheme custom]

Each size runs in a fresh child process: the JPEG is written to a file first, the child imports
pjstore, notes its resident-set high-water mark (`resource.getrusage(RUSAGE_SELF).ru_maxrss`),
reads the file, runs `prepare`, and reports the new high-water mark, its CPU time and the peak of
jpegtran's peak is measured apart, as the RUSAGE_CHILDREN peak of a bare Python running
`jpegtran -progressive` on the same file (a child forked from the big process would report the
pages it shared with it before exec). `solid` is one flat colour (the smallest upload per
pixel: 1.5 MB at 100 MP); `photo` tiles a scikit-image sample photo.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
from pjstore.ingest import IngestOptions, prepare
source = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
cpu = time.process_time()
prepare(source, IngestOptions(scheme=sys.argv[2], max_pixels=10**9, max_bytes=10**10))
cpu = time.process_time() - cpu
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_kib": before, "after_kib": after, "cpu_s": cpu}))
"""
JPEGTRAN = r"""
import resource, subprocess, sys
subprocess.run(["jpegtran", "-copy", "none", "-optimize", "-progressive", sys.argv[1]], check=True,
               stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def make_jpeg(megapixels: float, kind: str) -> bytes:
    import numpy as np
    from PIL import Image

    side = round((megapixels * 1e6) ** 0.5)
    if kind == "solid":
        image = Image.new("RGB", (side, side), (200, 120, 40))
    else:
        from pjstore.samples import pixels

        tile = pixels("astronaut")
        reps = (side // tile.shape[0] + 1, side // tile.shape[1] + 1, 1)
        image = Image.fromarray(np.tile(tile, reps)[:side, :side])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def measure(megapixels: float, kind: str, scheme: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".jpg") as fh:
        data = make_jpeg(megapixels, kind)
        fh.write(data)
        fh.flush()
        env = {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
        out = subprocess.run([sys.executable, "-c", CHILD, fh.name, scheme], env=env, check=True,
                             capture_output=True, text=True).stdout
        tool_kib = int(subprocess.run([sys.executable, "-S", "-c", JPEGTRAN, fh.name], env=env, check=True,
                                      capture_output=True, text=True).stdout)
    row = json.loads(out)
    peak_mb = row["after_kib"] / 1024
    return {"megapixels": megapixels, "kind": kind, "scheme": scheme, "upload_mb": len(data) / 1e6,
            "baseline_mb": row["before_kib"] / 1024, "peak_mb": peak_mb,
            "mb_per_mp": (peak_mb - row["before_kib"] / 1024) / megapixels,
            "jpegtran_peak_mb": tool_kib / 1024, "cpu_s": row["cpu_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megapixels", default="1,4,16")
    parser.add_argument("--kind", choices=("solid", "photo"), default="solid")
    parser.add_argument("--scheme", default="custom")
    args = parser.parse_args()
    print("| MP | kind | upload MB | peak RSS MB (after imports) | MB per MP | jpegtran peak MB | CPU s |")
    print("|---|---|---|---|---|---|---|")
    for mp in (float(x) for x in args.megapixels.split(",")):
        r = measure(mp, args.kind, args.scheme)
        print(f"| {mp:g} | {r['kind']} | {r['upload_mb']:.2f} | {r['peak_mb']:.0f} ({r['baseline_mb']:.0f}) "
              f"| {r['mb_per_mp']:.1f} | {r['jpegtran_peak_mb']:.0f} | {r['cpu_s']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
