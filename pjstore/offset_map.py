"""The offset map: for each scale, the stored-file prefix that meets the quality target.

Offsets are found by really decoding scan-complete prefixes (`measure`), never estimated. A
search may pass hints (its predicted cut per scale); measurement then starts there and walks
back while the shorter prefix still passes and forward while it fails, so what is stored always
passes and the prefix one scan shorter does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image

from pjstore.quality.contract import Reference, decode_prefix
from pjstore.quality.sizes import target_size


@dataclass(frozen=True)
class ScaleOffset:
    """One row: scale, its exact target size, the prefix length, and the score it reached."""

    scale: float
    width: int
    height: int
    offset: int
    score: float  # metric value reached by the prefix (inf for the whole file under PSNR)


@dataclass(frozen=True)
class OffsetMap:
    """Rows by increasing scale; the last row is scale 1.0, the whole file."""

    metric: str
    entries: tuple[ScaleOffset, ...]

    def __post_init__(self) -> None:
        if not self.entries or self.entries[-1].scale != 1.0:
            raise ValueError("an offset map ends with scale 1.0 (the whole file)")
        for a, b in zip(self.entries, self.entries[1:]):
            if not a.scale < b.scale:
                raise ValueError("offset map scales must increase")
            if a.offset > b.offset:
                raise ValueError(f"offset for scale {b.scale} is below that of {a.scale}")

    @property
    def scales(self) -> tuple[float, ...]:
        return tuple(e.scale for e in self.entries)

    def entry(self, scale: float) -> ScaleOffset:
        for e in self.entries:
            if math.isclose(e.scale, scale):
                return e
        raise KeyError(scale)

    def covering(self, width: int | None = None, height: int | None = None) -> ScaleOffset:
        """The smallest stored scale whose target size is at least the requested width/height."""
        for e in self.entries:
            if (width is None or e.width >= width) and (height is None or e.height >= height):
                return e
        return self.entries[-1]

    def to_json(self) -> list[dict]:
        rows = []
        for e in self.entries:
            row = {"scale": e.scale, "width": e.width, "height": e.height, "offset": e.offset}
            row[self.metric] = _finite(e.score)
            rows.append(row)
        return rows

    @classmethod
    def from_json(cls, metric: str, rows: list[dict]) -> "OffsetMap":
        return cls(metric, tuple(
            ScaleOffset(r["scale"], r["width"], r["height"], r["offset"],
                        math.inf if r.get(metric) is None else r[metric])
            for r in rows))


def _finite(x: float) -> float | None:
    return None if math.isinf(x) else x


def _rounded(x: float) -> float:
    """Scores are kept to 4 decimals so a record survives its JSON round trip unchanged."""
    return x if math.isinf(x) else round(x, 4)


def measure(stored: bytes, scan_ends: tuple[int, ...], reference: Reference,
            hints: dict[float, int] | None = None) -> OffsetMap:
    """Find, by decoding, each scale's smallest scan-complete prefix meeting its threshold.

    `hints` maps a scale to a predicted index into `scan_ends`. Without hints every prefix is
    tried in order. Offsets never decrease with scale: a scale's search starts at the previous
    scale's cut.
    """
    target = reference.target
    decoded: dict[int, Image.Image] = {}
    last = len(scan_ends) - 1

    def score(index: int, scale: float) -> float:
        if index == last:
            return math.inf  # the whole file is the source's coefficients: lossless
        if index not in decoded:
            decoded.clear()  # keep at most one decoded prefix alive (large images)
            decoded[index] = decode_prefix(stored, scan_ends[index])
        return reference.score(decoded[index], scale)

    entries = []
    floor = 0
    for scale, threshold in zip(target.scales, target.thresholds):
        start = max(floor, min(last, (hints or {}).get(scale, floor)))
        index = start
        value = score(index, scale)
        if value >= threshold:
            while index > floor:  # walk back while the shorter prefix still passes
                shorter = score(index - 1, scale)
                if shorter < threshold:
                    break
                index, value = index - 1, shorter
        else:
            while value < threshold:  # walk forward; the last cut always passes
                index += 1
                value = score(index, scale)
        w, h = target_size(reference.width, reference.height, scale)
        entries.append(ScaleOffset(scale, w, h, scan_ends[index], _rounded(value)))
        floor = index
    entries.append(ScaleOffset(1.0, reference.width, reference.height, len(stored), math.inf))
    return OffsetMap(target.metric, tuple(entries))
