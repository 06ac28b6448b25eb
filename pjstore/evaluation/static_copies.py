"""The static baseline's pre-resized copies: one baseline JPEG per scale, as small as the target allows.

Each copy is the contract reference at that size (the source, LANCZOS-resized), encoded by pjstore's
own baseline encoder at the lowest quality whose decode still meets the threshold against that
reference: the prefix contract's counterpart of the served contract's floor
(`pjstore.rendition.choose`, which shares the search). Quality is found by binary search over
1..100, which assumes the score rises with quality (true of libjpeg's scaled tables up to rounding).
The search runs with both full (4:4:4) and halved (4:2:0, Pillow's default) chroma and keeps the
smaller passing copy: with 4:2:0 alone, colour-rich photos miss 32 dB even at quality 100, which
would make the static scheme a straw man. When even quality 100 misses with both, the better-scoring
quality-100 copy is kept and flagged rather than dropped, as the dissertation observed for many 10%
images.

Copies carry the source's ICC profile, as pjstore's renditions do, so both schemes serve the same
colours; `icc_bytes` in the CSV lets a reader take it out again.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from pjstore.encoder.pillow_open import open_jpeg
from pjstore.quality.contract import Reference, decode_rgb
from pjstore.render.encode import encode
from pjstore.rendition.quality_search import lowest_quality

SUBSAMPLINGS = ("4:4:4", "4:2:0")


@dataclass(frozen=True)
class Copy:
    scale: float
    data: bytes
    quality: int
    subsampling: str  # chroma subsampling, one of SUBSAMPLINGS
    score: float  # contract metric of `data` against the reference at this scale
    meets: bool  # False only when quality 100 still misses the threshold


def icc_profile(source: bytes) -> bytes | None:
    """The source's profile, when it describes RGB samples like the copies' (reads the header only)."""
    with open_jpeg(source) as im:
        icc = im.info.get("icc_profile")
        return icc if icc and im.mode == "RGB" else None


def make_copies(reference: Reference, icc: bytes | None) -> tuple[Copy, ...]:
    """One copy per target scale: the smallest passing one (or the best flagged one at quality 100)."""
    target = reference.target
    return tuple(smallest(reference, scale, threshold, icc)  # QualityTarget checks the pairing
                 for scale, threshold in zip(target.scales, target.thresholds, strict=True))


def smallest(reference: Reference, scale: float, threshold: float, icc: bytes | None,
             guess: int | None = None) -> Copy:
    """The smallest copy at `scale` (1.0 too: the whole size) meeting `threshold` in the reference's
    metric, over both chromas, or the better-scoring flagged one at quality 100. A `guess` of the
    quality (a neighbouring scale's answer) saves encodes where the metric is slow, not the answer."""
    found: list[Copy] = []
    for sub in SUBSAMPLINGS:
        found.append(_lowest_passing(reference, scale, threshold, icc, sub, found[-1].quality if found else guess))
    passing = [c for c in found if c.meets]
    return min(passing, key=lambda c: len(c.data)) if passing else max(found, key=lambda c: c.score)


def _lowest_passing(reference: Reference, scale: float, threshold: float, icc: bytes | None,
                    subsampling: str, guess: int | None) -> Copy:
    pixels = Image.fromarray(reference.at(reference.size(scale)))

    def at(quality: int) -> Copy:
        data = encode(pixels, quality, icc, subsampling)
        score = reference.score(decode_rgb(data), scale)
        return Copy(scale, data, quality, subsampling, score, score >= threshold)

    lowest = lowest_quality(at, lambda c: c.meets, guess)
    return at(100) if lowest is None else lowest[1]
