"""SSIMULACRA 2 speed: CPU seconds per megapixel of pjstore.quality.ssimulacra2.score, single-threaded,
beside the reference C++ when its binary is given (which the project does not build or ship).

    python eval/bench_ssimulacra2.py [--reference PATH/TO/ssimulacra2] [--sizes 0.1 1 4 12]

Each size is skimage's astronaut tiled to that many megapixels (4:3) against its libjpeg-turbo q75
4:2:0 encode. CPU time (time.process_time) of one score, median of rounds run round-robin; the
reference's is its process's user+system time per run (including reading the two PNGs).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import io  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from pjstore.evaluation.timing import median_seconds  # noqa: E402
from pjstore.quality.ssimulacra2 import score  # noqa: E402


def pair(megapixels: float) -> tuple[np.ndarray, np.ndarray]:
    from skimage import data

    width = round(math.sqrt(megapixels * 1e6 * 4 / 3))
    height = round(width * 3 / 4)
    tile = data.astronaut()
    reps = (-(-height // tile.shape[0]), -(-width // tile.shape[1]), 1)
    reference = np.ascontiguousarray(np.tile(tile, reps)[:height, :width])
    buf = io.BytesIO()
    Image.fromarray(reference).save(buf, "JPEG", quality=75, subsampling=2)
    return reference, np.asarray(Image.open(buf))


def reference_run(binary: Path, paths: list[Path]) -> float:
    """CPU seconds of one run of the reference binary."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([str(binary), *map(str, paths)], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, help="the reference ssimulacra2 binary, to time beside")
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.1, 0.5, 1.0, 4.0, 12.0], help="megapixels")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    print("| size | pixels | pjstore CPU s | pjstore CPU s/MP | reference CPU s/MP | score |")
    print("|---|---|---|---|---|---|")
    for mp in args.sizes:
        reference, distorted = pair(mp)
        pixels = reference.shape[0] * reference.shape[1]
        cpu = median_seconds({"pjstore": partial(score, reference, distorted)},
                             repeats=args.repeats, budget_s=60.0, clock=time.process_time)["pjstore"]
        ref = ""
        if args.reference:
            with tempfile.TemporaryDirectory() as tmp:
                paths = [Path(tmp) / "a.png", Path(tmp) / "b.png"]
                Image.fromarray(reference).save(paths[0])
                Image.fromarray(distorted).save(paths[1])
                runs = sorted(reference_run(args.reference, paths) for _ in range(args.repeats))
                ref = f"{runs[len(runs) // 2] / pixels * 1e6:.3f}"
        print(f"| {reference.shape[1]}x{reference.shape[0]} | {pixels / 1e6:.2f} MP | {cpu:.2f} | "
              f"{cpu / pixels * 1e6:.3f} | {ref} | {score(reference, distorted):.2f} |", flush=True)


if __name__ == "__main__":
    main()
