"""How far the quality model is from real decoding, on the prefixes that matter.

    python eval/model_accuracy.py /work/shared/corpus/photos --limit 20

For every image and scale, the custom plan's prefixes around the hint (hint-2 .. hint+2) are
scored twice: by the model (PSNR from modelled MSE, no bias) and by really decoding the prefix
(the contract). Prints the error (model - real, dB) per scale: mean, spread, and worst cases.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pjstore.encoder import coefficients, metadata, transcode  # noqa: E402
from pjstore.encoder.structure import parse  # noqa: E402
from pjstore.quality.contract import QualityTarget, Reference, decode_prefix  # noqa: E402
from pjstore.scan_search.model import QualityModel  # noqa: E402
from pjstore.scan_search.options import SearchOptions  # noqa: E402
from pjstore.scan_search.resize_basis import ResizedBasis  # noqa: E402
from pjstore.scan_search.search import plan_custom  # noqa: E402
from pjstore.scan_search.steps import NOT_SENT  # noqa: E402
from tools.jpegtran_wrapper import Jpegtran  # noqa: E402


def levels_after(scans, n: int, components: int) -> list[list[int]]:
    """Bit level of every coefficient once the first `n` scans are decoded."""
    levels = [[NOT_SENT] * 64 for _ in range(components)]
    for scan in scans[:n]:
        for c in scan.components:
            for k in range(scan.ss, scan.se + 1):
                levels[c][k] = scan.al
    return levels


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--model-pixels", type=int, default=SearchOptions().model_pixels)
    ap.add_argument("--verbose", action="store_true", help="list prefixes off by more than 1 dB")
    args = ap.parse_args()
    jt = Jpegtran.find()
    target = QualityTarget.uniform()
    errors: dict[float, list[float]] = {s: [] for s in target.scales}
    for path in sorted(args.corpus.iterdir())[: args.limit]:
        src = path.read_bytes()
        s = parse(src)
        dct = coefficients.read(transcode.to_sequential(src, jt))
        plan = plan_custom(dct, s.color_space, target)
        t = transcode.to_progressive(src, plan.script, metadata.extract(src, s), jt)
        ref = Reference.from_source(src, target)
        scans = plan.script.scans
        for scale, hint in plan.hints.items():
            basis = ResizedBasis.build(dct, s.color_space, scale, args.model_pixels)
            for i in range(max(0, hint - 2), min(len(scans) - 1, hint + 3)):
                model = QualityModel(basis, dct, levels_after(scans, i + 1, len(dct.components)))
                modelled = 10 * math.log10(255**2 / max(model.mse, 1e-9))
                real = ref.score(decode_prefix(t.data, t.scan_ends[i]), scale)
                if 25 < real < 45:
                    errors[scale].append(modelled - real)
                    if args.verbose and abs(modelled - real) > 1:
                        print(f"  {path.name} {scale} scan {i} ({scans[i].render()}) "
                              f"model {modelled:.2f} real {real:.2f}")
    for scale, e in errors.items():
        a = np.array(e)
        print(f"scale {scale}: n={len(a)} model-real dB mean {a.mean():+.2f} sd {a.std():.2f} "
              f"p5 {np.percentile(a, 5):+.2f} p95 {np.percentile(a, 95):+.2f} "
              f"min {a.min():+.2f} max {a.max():+.2f}")


if __name__ == "__main__":
    main()
