"""Where SSIMULACRA 2 stops ranking small renditions sensibly (issue 25, item 3).

    python eval/ssimulacra2_small.py ../shared/corpus/photos --limit 40

For each photo and each rendition size (long side 16 to 400 px), the reference is the contract's
(the source in RGB, LANCZOS-resized to that size) and the distortions are what a server might send
instead: Pillow (libjpeg-turbo) baseline JPEGs of the reference at q30-95 4:2:0, and libvips'
thumbnail of the whole source at q80 (imgproxy's default; pyvips, the eval extra). Per size: the
median SSIMULACRA 2 of each, beside PSNR, how many scales the metric measures (the reference
halves while the last scale is at least 8 px), and how often it ranks the JPEG quality ladder in
order (Kendall's tau of quality against score per photo: 1 = every pair of qualities in order).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from pjstore.corpus import walk  # noqa: E402
from pjstore.quality.metrics import psnr  # noqa: E402
from pjstore.quality.ssimulacra2 import MIN_SIDE, scale_count, score  # noqa: E402

LONG_SIDES = (16, 24, 33, 50, 75, 100, 150, 160, 200, 300, 400)
QUALITIES = (30, 50, 70, 80, 90, 95)


def jpeg(image: Image.Image, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality, subsampling=2)
    return np.asarray(Image.open(buf).convert("RGB"))


def vips_q80(source: bytes, size: tuple[int, int]) -> np.ndarray:
    import pyvips

    thumb = pyvips.Image.thumbnail_buffer(source, size[0], height=size[1], size="force", no_rotate=True)
    data = thumb.write_to_buffer(".jpg", Q=80, optimize_coding=True, strip=True)
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def kendall_tau(scores: list[float]) -> float:
    """Kendall's tau of the scores against their (increasing) order."""
    pairs = [(i, j) for i in range(len(scores)) for j in range(i + 1, len(scores))]
    return sum(np.sign(scores[j] - scores[i]) for i, j in pairs) / len(pairs)


def measure(source: bytes, long_side: int) -> dict[str, float] | None:
    image = Image.open(io.BytesIO(source)).convert("RGB")
    ratio = long_side / max(image.size)
    if ratio >= 1:
        return None
    size = (max(1, round(image.width * ratio)), max(1, round(image.height * ratio)))
    if min(size) < MIN_SIDE:
        return None
    reference = image.resize(size, Image.Resampling.LANCZOS)
    want = np.asarray(reference)
    row: dict[str, float] = {}
    ladder = []
    for q in QUALITIES:
        got = jpeg(reference, q)
        ladder.append(score(want, got))
        row[f"q{q}"] = ladder[-1]
        row[f"psnr q{q}"] = psnr(want, got)
    vips = vips_q80(source, size)
    row["vips q80"], row["psnr vips q80"] = score(want, vips), psnr(want, vips)
    row["tau"] = kendall_tau(ladder)
    row["short"] = min(size)
    row["scales"] = scale_count(size[1], size[0])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--limit", type=int, default=40)
    args = parser.parse_args()
    try:
        sources = [p.read_bytes() for p in walk(tuple(args.paths))[:args.limit]]
    except OSError as exc:
        parser.error(f"cannot read {exc.filename}: {exc.strerror}")

    columns = [f"q{q}" for q in QUALITIES] + ["vips q80"]
    print(f"{len(sources)} photos; SSIMULACRA 2 medians (PSNR dB of q80 and vips q80 beside); tau: rank agreement\n")
    print("| long side | short side | scales | " + " | ".join(columns)
          + " | PSNR q80 | PSNR vips q80 | median tau | tau = 1 |")
    print("|---" * (len(columns) + 8) + "|")
    for long_side in LONG_SIDES:
        rows = [r for r in (measure(s, long_side) for s in sources) if r is not None]
        if not rows:
            continue
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        ordered = sum(r["tau"] == 1.0 for r in rows) / len(rows)
        cells = [f"{long_side}", f"{med['short']:.0f}", f"{med['scales']:.0f}", *(f"{med[c]:.1f}" for c in columns),
                 f"{med['psnr q80']:.1f}", f"{med['psnr vips q80']:.1f}", f"{med['tau']:.2f}", f"{ordered:.0%}"]
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
