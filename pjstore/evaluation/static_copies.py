"""The static baseline's pre-resized copies: one baseline JPEG per scale, as small as the target allows.

Each copy is the contract reference at that size (the source, LANCZOS-resized), encoded by
pjstore's own baseline encoder at the lowest quality whose decode still meets the threshold
against that reference. Quality is found by binary search over 1..100, which assumes the score
rises with quality (true of libjpeg's scaled tables up to rounding). When even quality 100 misses
(tiny sizes, fine detail), the copy is kept at 100 and flagged rather than dropped, as the
dissertation observed for many 10% images.

Copies carry the source's ICC profile, as pjstore's renditions do, so both schemes serve the same
colours; `icc_bytes` in the CSV lets a reader take it out again.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from pjstore.quality.contract import Reference, decode_rgb
from pjstore.read_path.encode import encode


@dataclass(frozen=True)
class Copy:
    scale: float
    data: bytes
    quality: int
    score: float  # contract metric of `data` against the reference at this scale
    meets: bool  # False only when quality 100 still misses the threshold


def icc_profile(source: bytes) -> bytes | None:
    """The source's profile, when it describes RGB samples like the copies' (reads the header only)."""
    with Image.open(io.BytesIO(source)) as im:
        icc = im.info.get("icc_profile")
        return icc if icc and im.mode == "RGB" else None


def make_copies(reference: Reference, icc: bytes | None) -> tuple[Copy, ...]:
    """One copy per target scale, at the lowest passing quality (or flagged at 100)."""
    target = reference.target
    return tuple(_lowest_passing(reference, scale, threshold, icc)
                 for scale, threshold in zip(target.scales, target.thresholds))


def _lowest_passing(reference: Reference, scale: float, threshold: float, icc: bytes | None) -> Copy:
    pixels = Image.fromarray(reference.at(reference.size(scale)))
    tried: dict[int, Copy] = {}

    def at(quality: int) -> Copy:
        if quality not in tried:
            data = encode(pixels, quality, icc)
            score = reference.score(decode_rgb(data), scale)
            tried[quality] = Copy(scale, data, quality, score, score >= threshold)
        return tried[quality]

    if not at(100).meets:
        return at(100)
    lo, hi = 1, 100  # invariant: quality `hi` passes
    while lo < hi:
        mid = (lo + hi) // 2
        if at(mid).meets:
            hi = mid
        else:
            lo = mid + 1
    return at(hi)
