"""The write path: upload -> validate -> plan scans -> transcode -> verify offsets -> store.

`prepare` does all the work and touches no store, so it can run in worker processes or off a
server's event loop; `ingest` adds the id check and the single atomic write.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from threadpoolctl import threadpool_limits

from pjstore import ids, offset_map
from pjstore.encoder import coefficients, metadata, transcode
from pjstore.encoder.metadata import DEFAULT_MAX_ICC_BYTES
from pjstore.encoder.structure import DEFAULT_MAX_APP_SEGMENTS, DEFAULT_MAX_SCANS, SOS, JpegStructure, parse
from pjstore.errors import CorruptJpeg, NotFound, TooLarge, TruncatedJpeg
from pjstore.offset_map import OffsetMap
from pjstore.quality.contract import QualityTarget, Reference
from pjstore.record import AS_UPLOADED, CONTRACTS, ImageRecord
from pjstore.render.colour import default_colour
from pjstore.rendition.choose import DEFAULT_EGRESS, Look, served_offsets
from pjstore.rendition.formats import MODERN
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


# The search is many small matrix products: BLAS threads only add contention (twice the CPU for
# the same wall time on 2 busy cores), and batch ingest parallelises by process instead.
@threadpool_limits.wrap(limits=1, user_api="blas")
def _plan_custom(source: bytes, structure: JpegStructure, target: QualityTarget, jt: Jpegtran,
                 search: SearchOptions) -> ScanPlan:
    # Coefficients come from jpegtran's own sequential copy: jpegtran has validated the source
    # (and decoded arithmetic coding) before the coefficient reader sees a byte.
    dct = coefficients.read(transcode.to_sequential(source, jt, structure.frame.sampling))
    return plan_custom(dct, structure.color_space, target, search)


# A scheme's candidate plans, each transcoded and verified; the one reading the fewest bytes
# over all scales is stored. "custom" keeps the default progression as a candidate because a
# searched plan can lose to it (tiny images, where every extra scan's header outweighs its data);
# it is tried only when the searched plan asks for it (ScanPlan.try_default).
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
    # Caps on the source's structure, checked from its markers before any pixel is decoded
    # (reasons with the defaults, in encoder/structure.py and encoder/metadata.py).
    max_scans: int = DEFAULT_MAX_SCANS  # more: refused (TooLarge)
    max_app_segments: int = DEFAULT_MAX_APP_SEGMENTS  # APPn/COM segments; more: refused (TooLarge)
    max_icc_bytes: int = DEFAULT_MAX_ICC_BYTES  # a bigger ICC profile is dropped, with a warning
    contract: str = "served"  # "prefix": 0.1.0's offsets by decoded prefix, served at quality 85
    egress: float = DEFAULT_EGRESS  # served bytes at most this times the floor (served contract)
    keep_profile: bool = False  # keep a non-sRGB ICC profile in renditions instead of converting
    accept_damaged: bool = False  # store what libjpeg decodes only with warnings, as uploaded
    # Modern formats given a verified setting per scale (served contract). Off by default: at 12 MP
    # the WebP and AVIF searches cost several times the rest of the write (eval/README.md).
    formats: tuple[str, ...] = ()
    # The stored file's entropy coding: "arithmetic" stores and reads ~5% fewer bytes; /original and
    # `export` then hand out the Huffman-coded file (browsers cannot decode arithmetic coding).
    entropy: str = "huffman"

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"unknown scheme {self.scheme!r}; choose from {sorted(SCHEMES)}")
        if self.contract not in CONTRACTS:
            raise ValueError(f"unknown contract {self.contract!r}; choose from {CONTRACTS}")
        if not self.egress >= 1:
            raise ValueError(f"egress must be at least 1 (the floor itself), not {self.egress}")
        if self.entropy not in transcode.ENTROPIES:
            raise ValueError(f"unknown entropy coding {self.entropy!r}; choose from {transcode.ENTROPIES}")
        if not set(self.formats) <= set(MODERN):
            raise ValueError(f"formats must be among {MODERN}, not {self.formats}")
        low = [n for n in ("max_pixels", "max_bytes", "max_scans", "max_app_segments") if getattr(self, n) < 1]
        if low or self.max_icc_bytes < 0:
            raise ValueError(f"limits must be positive (max_icc_bytes: at least 0): "
                             f"{', '.join(low + ['max_icc_bytes'] * (self.max_icc_bytes < 0))}")
        if self.accept_damaged and self.contract != "served":
            raise ValueError("accepting damaged images needs the served contract (they have no prefixes)")


@dataclass(frozen=True)
class Prepared:
    """A ready-to-store image: its record and the stored progressive file."""

    record: ImageRecord
    blob: bytes


def prepare(source: bytes, options: IngestOptions = IngestOptions(), jpegtran: Jpegtran | None = None) -> Prepared:
    """Validate, plan, transcode and verify one upload. Raises a typed PjstoreError on bad input."""
    if len(source) > options.max_bytes:
        raise TooLarge(f"{len(source)} bytes exceeds the upload limit of {options.max_bytes} bytes")
    try:
        return _transcoded(source, options, jpegtran)
    except (CorruptJpeg, TruncatedJpeg) as refusal:  # damaged entropy data or truncation
        if not options.accept_damaged:
            raise
        return as_uploaded(source, options, refusal)


def _transcoded(source: bytes, options: IngestOptions, jpegtran: Jpegtran | None) -> Prepared:
    structure = parse(source, options.max_pixels, max_scans=options.max_scans,
                      max_app_segments=options.max_app_segments)
    jt = jpegtran or Jpegtran.find()
    kept = metadata.extract(source, structure, options.max_icc_bytes)
    pixels = metadata.without_metadata(source, structure)  # what decoders and jpegtran need, no more
    reference = Reference.from_source(pixels, options.target)
    candidates = []
    for name, planner in SCHEMES[options.scheme]:
        plan = planner(pixels, structure, options.target, jt, options.search)
        stored = transcode.smallest(pixels, plan, kept, jt, options.search.layout_sample_pixels)
        if options.entropy != "huffman":  # laid out by Huffman sizes; cuts measured on the file stored
            stored = transcode.recoded(stored.data, options.entropy, jt)
        offsets = offset_map.measure(stored.data, stored.scan_ends, reference, plan.hints)
        cost = (sum(e.offset for e in offsets.entries[:-1]), len(stored.data))
        candidates.append((cost, name, len(stored.scan_ends), offsets, stored.data))
        if not plan.try_default:
            break  # the search says the default progression cannot read less (ScanPlan.try_default)
    _, name, scans, offsets, blob = min(candidates, key=lambda c: c[0])
    if options.contract == "served":
        offsets = served(blob, offsets, options.target, kept, structure.color_space == "GRAY", options)[options.egress]
    frame = structure.frame
    record = ImageRecord(
        id=ids.image_id(source), width=frame.width, height=frame.height,
        color_space=structure.color_space, orientation=kept.orientation,
        source_bytes=len(source), stored_bytes=len(blob), scheme=name, scans=scans,
        thresholds=options.target.thresholds, offsets=offsets, stored_sha256=hashlib.sha256(blob).hexdigest(),
        warnings=tuple(w.line() for w in kept.warnings),
        contract=options.contract, entropy=options.entropy,
        egress=options.egress if options.contract == "served" else None,
    )
    return Prepared(record, blob)


def as_uploaded(source: bytes, options: IngestOptions, refusal: CorruptJpeg | TruncatedJpeg) -> Prepared:
    """`source` stored untouched (`--accept-damaged`): its `refusal` from the strict path is kept as a
    warning, every scale reads the whole file, and recipes are chosen against its own decode (what
    viewers show). The header, pixel, byte and scan limits still hold, and it must decode to its
    frame's size; otherwise the refusal stands."""
    header = parse(source, options.max_pixels, max_app_segments=options.max_app_segments, header_only=True)
    scans = source.count(bytes((0xFF, SOS)))  # every SOS marker libjpeg could meet, damaged ones too
    if scans > options.max_scans:
        raise TooLarge(f"{scans} scan headers exceed the limit of {options.max_scans}")
    kept = metadata.extract(source, header, options.max_icc_bytes)
    references = _references(source, options.target)
    colour = default_colour(kept.icc_profile, options.keep_profile)
    frame = header.frame
    try:
        decoded = references(colour)
    except CorruptJpeg as exc:
        raise type(refusal)(f"{refusal}; not decodable as damaged either: {exc}") from None
    if (decoded.width, decoded.height) != (frame.width, frame.height):
        raise type(refusal)(f"{refusal}; decodes to {decoded.width}x{decoded.height}, "
                            f"not the frame's {frame.width}x{frame.height}")
    offsets = _served_rows(source, (len(source),), {}, references, kept, header.color_space == "GRAY",
                           options)[options.egress]
    digest = hashlib.sha256(source).hexdigest()
    record = ImageRecord(
        id=digest, width=frame.width, height=frame.height, color_space=header.color_space,
        orientation=kept.orientation, source_bytes=len(source), stored_bytes=len(source), scheme=AS_UPLOADED,
        scans=scans, thresholds=options.target.thresholds, offsets=offsets, stored_sha256=digest,
        warnings=(f"damaged: stored as uploaded, decoded with libjpeg's warnings ({refusal})",), damaged=True,
        entropy="arithmetic" if frame.arithmetic else "huffman", egress=options.egress,
    )
    return Prepared(record, source)


def served(blob: bytes, prefix_offsets: OffsetMap, target: QualityTarget, kept: metadata.KeptMetadata,
           grey: bool, options: IngestOptions, egresses: tuple[float, ...] | None = None) -> dict[float, OffsetMap]:
    """Served-contract rows for a stored file, searched from its prefix-contract offsets, under
    each egress policy of `egresses` (default: the options' one)."""
    structure = parse(blob)
    starts = prefix_offsets.scan_indices(structure.scan_ends)
    return _served_rows(blob, structure.scan_ends, starts, _references(blob, target), kept, grey, options, egresses)


def _references(blob: bytes, target: QualityTarget) -> Callable[[str], Reference]:
    """The reference in each colour handling's served colour space, decoded once each."""
    return functools.cache(lambda c: Reference.served(blob, target, c))


def _served_rows(blob: bytes, scan_ends: tuple[int, ...], starts: dict[float, int],
                 references: Callable[[str], Reference], kept: metadata.KeptMetadata, grey: bool,
                 options: IngestOptions, egresses: tuple[float, ...] | None = None) -> dict[float, OffsetMap]:
    colour = default_colour(kept.icc_profile, options.keep_profile)
    return served_offsets(blob, scan_ends, references, Look(kept.orientation, colour, grey),
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
