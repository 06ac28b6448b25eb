"""The write path: upload -> validate -> plan scans -> transcode -> verify offsets -> store.

`prepare` does all the work and touches no store, so it can run in worker processes or off a
server's event loop; `ingest` adds the id check and the single atomic write.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Callable

from pjstore import ids, offset_map
from pjstore.encoder import metadata, transcode
from pjstore.encoder.structure import JpegStructure, parse
from pjstore.errors import NotFound, TooLarge
from pjstore.offset_map import OffsetMap
from pjstore.quality.contract import QualityTarget, Reference
from pjstore.read_path.colour import default_colour
from pjstore.record import CONTRACTS, ImageRecord
from pjstore.rendition.choose import DEFAULT_EGRESS, Look, served_offsets
from pjstore.rendition.formats import AVAILABLE, MODERN
from pjstore.encoder import coefficients
from pjstore.scan_search import progressive
from pjstore.scan_search.options import SearchOptions
from pjstore.scan_search.plan import ScanPlan
from pjstore.scan_search.search import plan_custom
from pjstore.storage import Storage
from tools.jpegtran_wrapper import Jpegtran

DEFAULT_MAX_PIXELS = 100_000_000
DEFAULT_MAX_BYTES = 50 * 1024 * 1024

Planner = Callable[[bytes, JpegStructure, QualityTarget, Jpegtran, SearchOptions], ScanPlan]


def _plan_progressive(source: bytes, structure: JpegStructure, target: QualityTarget, jt: Jpegtran,
                      search: SearchOptions) -> ScanPlan:
    return progressive.plan(structure.frame.sampling, structure.color_space)


def _plan_custom(source: bytes, structure: JpegStructure, target: QualityTarget, jt: Jpegtran,
                 search: SearchOptions) -> ScanPlan:
    # Coefficients come from jpegtran's own sequential copy: jpegtran has validated the source
    # (and decoded arithmetic coding) before the coefficient reader sees a byte.
    dct = coefficients.read(transcode.to_sequential(source, jt))
    return plan_custom(dct, structure.color_space, target, search)


# A scheme's candidate plans, each transcoded and verified; the one reading the fewest bytes
# over all scales is stored. "custom" keeps the default progression as a candidate because a
# searched plan can lose to it (tiny images, where every extra scan's header outweighs its data).
SCHEMES: dict[str, tuple[tuple[str, Planner], ...]] = {
    "progressive": (("progressive", _plan_progressive),),
    "custom": (("custom", _plan_custom), ("progressive", _plan_progressive)),
}
DEFAULT_SCHEME = "custom"


@dataclass(frozen=True)
class IngestOptions:
    scheme: str = DEFAULT_SCHEME
    target: QualityTarget = field(default_factory=QualityTarget)
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES
    search: SearchOptions = field(default_factory=SearchOptions)
    contract: str = "served"  # "prefix": 0.1.0's offsets by decoded prefix, served at quality 85
    egress: float = DEFAULT_EGRESS  # served bytes at most this times the floor (served contract)
    keep_profile: bool = False  # keep a non-sRGB ICC profile in renditions instead of converting
    formats: tuple[str, ...] = AVAILABLE  # modern formats given a verified setting per scale (served contract)

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"unknown scheme {self.scheme!r}; choose from {sorted(SCHEMES)}")
        if self.contract not in CONTRACTS:
            raise ValueError(f"unknown contract {self.contract!r}; choose from {CONTRACTS}")
        if not self.egress >= 1:
            raise ValueError(f"egress must be at least 1 (the floor itself), not {self.egress}")
        if not set(self.formats) <= set(MODERN):
            raise ValueError(f"formats must be among {MODERN}, not {self.formats}")
        if self.max_pixels < 1 or self.max_bytes < 1:
            raise ValueError("limits must be positive")


@dataclass(frozen=True)
class Prepared:
    """A ready-to-store image: its record and the stored progressive file."""

    record: ImageRecord
    blob: bytes


def prepare(source: bytes, options: IngestOptions = IngestOptions(), jpegtran: Jpegtran | None = None) -> Prepared:
    """Validate, plan, transcode and verify one upload. Raises a typed PjstoreError on bad input."""
    if len(source) > options.max_bytes:
        raise TooLarge(f"{len(source)} bytes exceeds the upload limit of {options.max_bytes} bytes")
    structure = parse(source, options.max_pixels)
    jt = jpegtran or Jpegtran.find()
    kept = metadata.extract(source, structure)
    reference = Reference.from_source(source, options.target)
    candidates = []
    for name, planner in SCHEMES[options.scheme]:
        plan = planner(source, structure, options.target, jt, options.search)
        stored = transcode.to_progressive(source, plan.script, kept, jt)
        offsets = offset_map.measure(stored.data, stored.scan_ends, reference, plan.hints)
        cost = (sum(e.offset for e in offsets.entries[:-1]), len(stored.data))
        candidates.append((cost, name, len(plan.script), offsets, stored.data))
    _, name, scans, offsets, blob = min(candidates, key=lambda c: c[0])
    if options.contract == "served":
        offsets = served(blob, offsets, options.target, kept, structure.color_space == "GRAY", options)[options.egress]
    frame = structure.frame
    record = ImageRecord(
        id=ids.image_id(source), width=frame.width, height=frame.height,
        color_space=structure.color_space, orientation=kept.orientation,
        source_bytes=len(source), stored_bytes=len(blob), scheme=name, scans=scans,
        thresholds=options.target.thresholds, offsets=offsets, stored_sha256=hashlib.sha256(blob).hexdigest(),
        contract=options.contract,
    )
    return Prepared(record, blob)


def served(blob: bytes, prefix_offsets: OffsetMap, target: QualityTarget, kept: metadata.KeptMetadata,
           grey: bool, options: IngestOptions, egresses: tuple[float, ...] | None = None) -> dict[float, OffsetMap]:
    """Served-contract rows for a stored file, searched from its prefix-contract offsets, under
    each egress policy of `egresses` (default: the options' one)."""
    structure = parse(blob)
    cuts = {end: i for i, end in enumerate(structure.scan_ends)}
    starts = {e.scale: cuts[e.offset] for e in prefix_offsets.entries[:-1] if e.offset in cuts}
    colour = default_colour(kept.icc_profile, options.keep_profile)
    references = functools.cache(lambda c: Reference.served(blob, target, c))
    return served_offsets(blob, structure.scan_ends, references, Look(kept.orientation, colour, grey),
                          egresses or (options.egress,), starts, len(kept.icc_profile or b""), options.formats)


def ingest(store: Storage, source: bytes, options: IngestOptions = IngestOptions(),
           jpegtran: Jpegtran | None = None) -> tuple[ImageRecord, bool]:
    """Store `source` unless its id is already present. Returns (record, created)."""
    image_id = ids.image_id(source)
    existing = stored_record(store, image_id)
    if existing is not None:
        return existing, False
    prepared = prepare(source, options, jpegtran)
    created = store.put(prepared.record, prepared.blob)
    return (prepared.record if created else store.info(image_id)), created


def stored_record(store: Storage, image_id: str) -> ImageRecord | None:
    """The record of `image_id` if stored, else None (one storage read, not exists + info)."""
    try:
        return store.info(image_id)
    except NotFound:
        return None
