"""The offset map: for each scale, the stored-file prefix it is served from, and how.

Each row carries its rendition recipe. Under the served contract (the default) the recipe, the
served score and the served bytes come from `pjstore.rendition.choose`, which renders and decodes
what will be sent. Under the prefix contract (the dissertation's, and 0.1.0's) the offset is the
shortest prefix whose *decode* meets the target, served with the legacy recipe (quality 85).

Prefix-contract offsets are found by really decoding scan-complete prefixes (`measure`), never estimated. A
search may pass hints (its predicted cut per scale); measurement then starts there and walks
back while the shorter prefix still passes and forward while it fails, so what is stored always
passes and the prefix one scan shorter does not.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from PIL import Image

from pjstore.quality.contract import Reference, decode_prefix
from pjstore.quality.sizes import target_size
from pjstore.rendition.formats import FormatRendition
from pjstore.rendition.recipe import LEGACY, Recipe


@dataclass(frozen=True)
class ScaleOffset:
    """One row: scale, its exact target size, the prefix length, the score reached, and the recipe."""

    scale: float
    width: int
    height: int
    offset: int
    score: float  # served contract: the served file's; prefix contract: the prefix's (inf: whole file)
    recipe: Recipe = LEGACY
    served_bytes: int | None = None  # what the recipe serves (served contract)
    floor_bytes: int | None = None  # the smallest baseline JPEG of this size meeting the threshold
    formats: tuple[FormatRendition, ...] = ()  # WebP/AVIF settings verified for the same pixels

    def __post_init__(self) -> None:
        if not 0 < self.scale <= 1:
            raise ValueError(f"scale must be in (0, 1], not {self.scale!r}")
        if min(self.width, self.height) < 1 or self.offset < 0:
            raise ValueError(f"scale {self.scale:g}: bad size {self.width}x{self.height} or offset {self.offset}")
        if not isinstance(self.recipe, Recipe):
            raise ValueError("a row's recipe must be a Recipe")
        if any(b is not None and (not isinstance(b, int) or b < 1) for b in (self.served_bytes, self.floor_bytes)):
            raise ValueError(f"scale {self.scale:g}: served and floor bytes must be positive")
        names = [f.encoding.format for f in self.formats]
        if len(set(names)) != len(names) or not all(isinstance(f, FormatRendition) for f in self.formats):
            raise ValueError(f"scale {self.scale:g}: at most one setting per format")

    def format(self, name: str) -> FormatRendition | None:
        """The row's verified setting for a modern format, if it has one."""
        return next((f for f in self.formats if f.encoding.format == name), None)

    def to_json(self, metric: str) -> dict:
        return {"scale": self.scale, "width": self.width, "height": self.height, "offset": self.offset,
                metric: _finite(self.score), "recipe": self.recipe.to_json(),
                "served_bytes": self.served_bytes, "floor_bytes": self.floor_bytes,
                "formats": {f.encoding.format: f.to_json() for f in self.formats}}

    @classmethod
    def from_json(cls, metric: str, row: dict) -> ScaleOffset:
        score = row.get(metric)
        return cls(row["scale"], row["width"], row["height"], row["offset"],
                   math.inf if score is None else score, Recipe.from_json(row["recipe"]),
                   row.get("served_bytes"), row.get("floor_bytes"),
                   tuple(FormatRendition.from_json(f) for f in row.get("formats", {}).values()))


@dataclass(frozen=True)
class OffsetMap:
    """Rows by increasing scale; the last row is scale 1.0, full size (the whole file under the
    prefix contract; a prefix too under the served contract)."""

    metric: str
    entries: tuple[ScaleOffset, ...]

    def __post_init__(self) -> None:
        if not self.entries or self.entries[-1].scale != 1.0:
            raise ValueError("an offset map ends with scale 1.0 (full size)")
        for a, b in itertools.pairwise(self.entries):
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

    def scan_indices(self, scan_ends: tuple[int, ...]) -> dict[float, int]:
        """Each scale's (below 1.0) offset as an index into `scan_ends`, where it is a scan's end."""
        index = {end: i for i, end in enumerate(scan_ends)}
        return {e.scale: index[e.offset] for e in self.entries[:-1] if e.offset in index}

    def to_json(self) -> list[dict]:
        return [e.to_json(self.metric) for e in self.entries]

    @classmethod
    def from_json(cls, metric: str, rows: list[dict]) -> OffsetMap:
        return cls(metric, tuple(ScaleOffset.from_json(metric, r) for r in rows))


def _finite(x: float) -> float | None:
    return None if math.isinf(x) else x


def rounded(x: float) -> float:
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
    for scale, threshold in zip(target.scales, target.thresholds, strict=True):
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
        entries.append(ScaleOffset(scale, w, h, scan_ends[index], rounded(value)))
        floor = index
    entries.append(ScaleOffset(1.0, reference.width, reference.height, len(stored), math.inf))
    return OffsetMap(target.metric, tuple(entries))
