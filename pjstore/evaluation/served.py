"""The served contract on a corpus: what users receive, per scale, under both contracts.

One image, one stored file (today's scan layout, tuned for the prefix contract), measured as:
  prefix     0.1.0's record: offsets by decoded prefix, served at quality 85 (the legacy recipe);
  k=...      served-contract recipes chosen under each egress policy k on that same stored file.
Every served figure is a real rendition by the read path, decoded and graded against the
reference in the served colour space; the floor is the smallest passing JPEG of the whole source.
Sizes between stored scales (`w=`) are graded the same way, at random widths.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

from pjstore.encoder import metadata
from pjstore.encoder.structure import parse
from pjstore.ingest import IngestOptions, prepare, served
from pjstore.quality.contract import Reference
from pjstore.read_path import select
from pjstore.record import ImageRecord
from pjstore.render.decode import closed_prefix
from pjstore.render.pipeline import make_rendition
from pjstore.rendition.choose import DEFAULT_EGRESS
from pjstore.rendition.quality_search import grader
from pjstore.rendition.recipe import LEGACY


@dataclass(frozen=True)
class ServedRow:
    image: str
    policy: str  # "prefix" or "k=1.25"
    scale: float
    width: int  # served, stored axes
    height: int
    source_bytes: int
    read: int  # stored bytes read
    served_bytes: int
    floor_bytes: int
    score: float  # the served file's, graded here
    threshold: float
    quality: int
    subsampling: str
    draft: int
    stored_scale: bool  # False: a size between stored scales (w=)
    restored: bool = False  # the recipe carries a restoration filter



def measure(image: str, source: bytes, egresses: tuple[float, ...], widths: int = 5,
            seed: int = 0, entropy: str = "huffman") -> list[ServedRow]:
    prefix = prepare(source, IngestOptions(contract="prefix", entropy=entropy))
    blob, record = prefix.blob, prefix.record
    structure = parse(blob)
    kept = metadata.extract(blob, structure)
    references = functools.cache(lambda c: Reference.served(blob, record.target, c))
    thresholds = (*record.thresholds, record.thresholds[-1])
    grey = structure.color_space == "GRAY"
    by_k = served(blob, record.offsets, record.target, kept, grey, IngestOptions(), egresses)
    policies = {f"k={k:g}": offsets for k, offsets in by_k.items()}
    floors: dict[float, int] = {}
    for e in next(iter(policies.values())).entries:
        assert e.floor_bytes is not None  # served-contract rows carry their floor
        floors[e.scale] = e.floor_bytes
    rows = []

    def row(policy: str, entry, recipe, size, threshold: float, stored_scale: bool) -> ServedRow:
        data, _ = make_rendition(closed_prefix(blob, entry.offset), recipe, size, record.orientation)
        score = grader(references(recipe.colour), size, record.orientation)(data)
        return ServedRow(image, policy, entry.scale, size[0], size[1], len(source), entry.offset, len(data),
                         floors[entry.scale], score, threshold, recipe.quality, recipe.subsampling,
                         recipe.draft, stored_scale, recipe.restore is not None)

    for entry, threshold in zip(record.offsets.entries, thresholds, strict=True):
        rows.append(row("prefix", entry, LEGACY, (entry.width, entry.height), threshold, True))
    for policy, offsets in policies.items():
        for entry, threshold in zip(offsets.entries, thresholds, strict=True):
            rows.append(row(policy, entry, entry.recipe, (entry.width, entry.height), threshold, True))
    # Random widths strictly between stored scales, served as `w=` is, under the default policy.
    policy = f"k={DEFAULT_EGRESS:g}" if f"k={DEFAULT_EGRESS:g}" in policies else next(iter(policies))
    offsets = policies[policy]
    upgraded = ImageRecord(**{**record.__dict__, "offsets": offsets, "contract": "served"})
    up_w = record.height if record.orientation >= 5 else record.width
    stored_widths = {(e.height if record.orientation >= 5 else e.width) for e in offsets.entries}
    between = [w for w in range(1, up_w) if w not in stored_widths]
    rng = random.Random(f"{seed}:{image}")
    for w in sorted(rng.sample(between, min(widths, len(between)))):
        chosen = select.by_size(upgraded, width=w)
        threshold = thresholds[offsets.entries.index(chosen.entry)]
        rows.append(row(policy, chosen.entry, chosen.recipe, chosen.size, threshold, False))
    return rows
