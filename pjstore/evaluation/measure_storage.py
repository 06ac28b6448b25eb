"""One image under each scheme: what is kept, what each scale's request reads, and its quality.

Every figure comes from the scheme really handling the upload: pjstore's `prepare` for the
progressive schemes (offsets verified by decoding at ingest), the static copies' own search, and
the source bytes for the dynamic baseline. Besides its CSV row, each scheme hands back the exact
bytes a request for each scale reads, which the compute timing then decodes.

Two qualities are recorded per scale: that of the bytes read (what the offsets are chosen by) and
that of the file the user finally receives: the static copy itself, or for the dynamic schemes
the read path's baseline re-encode of what was read, which adds its own loss.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

from pjstore.encoder.pillow_open import open_jpeg
from pjstore.evaluation.schemes import BASELINE, STATIC, Scheme
from pjstore.evaluation.static_copies import icc_profile, make_copies
from pjstore.evaluation.tables import StorageRow, pct
from pjstore.ingest import IngestOptions, prepare
from pjstore.quality.contract import QualityTarget, Reference, decode_rgb
from pjstore.render.decode import closed_prefix
from pjstore.render.pipeline import make_rendition
from pjstore.rendition.recipe import LEGACY


@dataclass(frozen=True)
class Measured:
    row: StorageRow
    read_data: dict[float, bytes]  # scale -> the bytes a request for it reads (a prefix closed by EOI)
    files: dict[str, bytes]  # what the scheme stores beyond the source, by file-name suffix


def measure(image: str, source: bytes, scheme: Scheme, reference: Reference) -> Measured:
    """`reference` only grades the served files; each scheme's write work makes its own, and is timed."""
    target = reference.target
    with open_jpeg(source) as im:
        width, height = im.size
        source_icc = len(im.info.get("icc_profile") or b"")
    common = dict(image=image, scheme=scheme.name, width=width, height=height, source_bytes=len(source))
    if scheme == STATIC:  # by value: schemes arrive pickled in worker processes
        m = _static(source, target, common)
        served = m.row.scores  # the copy is the served file
    else:
        # pjstore keeps the profile in the stored file (hence in every prefix); the source has it anyway
        common["icc_bytes"] = source_icc
        m = _baseline(source, target, common) if scheme == BASELINE else _progressive(source, scheme, target, common)
        # The prefix contract's figures (0.1.0's read path): each prefix re-encoded at quality 85.
        served = {s: reference.score(decode_rgb(make_rendition(data, LEGACY, reference.size(s))[0]), s)
                  for s, data in m.read_data.items()}
    return replace(m, row=replace(m.row, served_scores=served))


def _static(source: bytes, target: QualityTarget, common: dict) -> Measured:
    start = time.perf_counter()
    icc = icc_profile(source)
    copies = make_copies(Reference.from_source(source, target), icc)
    write_s = time.perf_counter() - start
    row = StorageRow(**common, icc_bytes=len(icc or b""), write_s=write_s,
                     stored_bytes=len(source) + sum(len(c.data) for c in copies),
                     reads={**{c.scale: len(c.data) for c in copies}, 1.0: len(source)},
                     scores={c.scale: c.score for c in copies}, qualities={c.scale: c.quality for c in copies},
                     chroma={c.scale: c.subsampling for c in copies})
    return Measured(row, {c.scale: c.data for c in copies}, {f"@{pct(c.scale)}.jpg": c.data for c in copies})


def _baseline(source: bytes, target: QualityTarget, common: dict) -> Measured:
    # The upload is stored as it is (no write work) and every size is made from the whole source,
    # which is the reference itself: its score is infinite by definition of the contract.
    row = StorageRow(**common, stored_bytes=len(source), write_s=0.0,
                     reads={s: len(source) for s in (*target.scales, 1.0)},
                     scores={s: math.inf for s in target.scales}, qualities={}, chroma={})
    return Measured(row, {s: source for s in target.scales}, {})


def _progressive(source: bytes, scheme: Scheme, target: QualityTarget, common: dict) -> Measured:
    start = time.perf_counter()
    assert scheme.pjstore_scheme is not None  # a dynamic progressive scheme
    prepared = prepare(source, IngestOptions(scheme=scheme.pjstore_scheme, target=target, contract="prefix"))
    write_s = time.perf_counter() - start
    blob, entries = prepared.blob, prepared.record.offsets.entries
    row = StorageRow(**common, stored_bytes=len(blob), write_s=write_s,
                     reads={e.scale: e.offset for e in entries},
                     scores={e.scale: e.score for e in entries if e.scale in target.scales}, qualities={},
                     chroma={})
    read_data = {e.scale: closed_prefix(blob, e.offset) for e in entries if e.scale in target.scales}
    return Measured(row, read_data, {".jpg": blob})
