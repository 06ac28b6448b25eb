"""Lossless transcoding: the source's DCT coefficients, re-emitted with a given scan script.

The result carries its own parsed structure, so callers get the byte offset where every scan
ends (the cut points of scan-complete prefixes) from the file as written, not from a prediction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pjstore.encoder import metadata
from pjstore.encoder.metadata import KeptMetadata
from pjstore.encoder.scan import MAX_BLOCKS_IN_MCU, ScanScript
from pjstore.encoder.structure import JpegStructure, parse
from pjstore.errors import ToolError
from pjstore.scan_search.plan import ScanPlan
from tools.jpegtran_wrapper import Jpegtran

# How the coefficients are entropy-coded. Arithmetic coding stores ~5% less, but browsers cannot
# decode it: an arithmetic store hands out Huffman copies (see `recoded`).
ENTROPIES = ("huffman", "arithmetic")


@dataclass(frozen=True)
class Transcoded:
    """A stored file: its bytes and structure (scan end offsets included)."""

    data: bytes
    structure: JpegStructure

    @property
    def scan_ends(self) -> tuple[int, ...]:
        return self.structure.scan_ends


def to_progressive(source: bytes, script: ScanScript, meta: KeptMetadata, jpegtran: Jpegtran) -> Transcoded:
    """Transcode `source` losslessly to a progressive JPEG with `script`, keeping only `meta`."""
    return _finished(jpegtran.transcode(source, script.render()), script, meta)


def recoded(data: bytes, entropy: str, jpegtran: Jpegtran) -> Transcoded:
    """A progressive file `data` with `entropy` coding ("huffman" or "arithmetic"): the same scans,
    coefficients and kept metadata, so a prefix cut after scan i decodes to the same pixels.
    Huffman to arithmetic and back gives the Huffman file byte for byte."""
    if entropy not in ENTROPIES:
        raise ValueError(f"entropy must be one of {ENTROPIES}, not {entropy!r}")
    structure = parse(data)
    script = ScanScript(tuple(s.scan for s in structure.scans if s.scan is not None), len(structure.frame.components))
    raw = jpegtran.transcode(data, script.render(), arithmetic=entropy == "arithmetic")
    return _finished(raw, script, metadata.extract(data, structure))


def _finished(raw: bytes, script: ScanScript, meta: KeptMetadata) -> Transcoded:
    out = metadata.insert(raw, parse(raw), metadata.segments(meta))
    structure = parse(out)
    written = tuple(s.scan for s in structure.scans)
    if written != script.scans:
        raise ToolError(f"jpegtran wrote {len(written)} scans that differ from the {len(script)}-scan script")
    return Transcoded(out, structure)


def smallest(source: bytes, plan: ScanPlan, meta: KeptMetadata, jpegtran: Jpegtran,
             sample_pixels: int) -> Transcoded:
    """`plan`'s layout that stores the fewest bytes (mozjpeg's optimize_scans: encode, measure,
    keep). Every uniform choice of remainder bits is encoded (on a central crop of about
    `sample_pixels` when the image is larger), each component's bytes after the shared prefix
    are counted, and each component gets its smallest; the final file is one of the trials
    when it can be, else one more transcode. Offsets stay valid: the prefix is the same."""
    layouts = plan.layouts
    if layouts is None or len(layouts.choices) < 2:
        return to_progressive(source, plan.script, meta, jpegtran)
    frame = parse(source).frame
    n = len(frame.components)
    pixels = frame.width * frame.height
    trial = source
    if pixels > sample_pixels:
        side = math.sqrt(sample_pixels / pixels)
        w, h = max(16, int(frame.width * side)), max(16, int(frame.height * side))
        trial = jpegtran.transcode(source, crop=(w, h, (frame.width - w) // 2, (frame.height - h) // 2))
    sizes = {}  # bits -> (raw, bytes per component after the prefix)
    for bits in layouts.choices:
        raw = jpegtran.transcode(trial, layouts.script((bits,) * n).render())
        per = [0] * n
        scans = parse(raw).scans
        ends = [scans[0].sos_offset] + [s.data_end for s in scans]  # a scan's bytes: its tables too
        for i in range(layouts.prefix_scans, len(scans)):
            scan = scans[i].scan
            assert scan is not None, "jpegtran wrote our progressive script"
            if not scan.is_dc:
                per[scan.components[0]] += ends[i + 1] - ends[i]
        sizes[bits] = (raw, per)
    best = tuple(min(layouts.choices, key=lambda b: sizes[b][1][c]) for c in range(n))
    if not layouts.fits(best):  # mixing choices can add scans: the best uniform one then
        best = (min(layouts.choices, key=lambda b: sum(sizes[b][1])),) * n
    script = layouts.script(best)
    if trial is source and len(set(best)) == 1:
        return _finished(sizes[best[0]][0], script, meta)
    return _finished(jpegtran.transcode(source, script.render()), script, meta)


def to_sequential(source: bytes, jpegtran: Jpegtran,
                  sampling: tuple[tuple[int, int], ...] | None = None) -> bytes:
    """A Huffman-optimized sequential copy (validates the source and decodes arithmetic coding).

    jpegtran writes a sequential file as one interleaved scan, which T.81 forbids when an MCU
    would hold more than 10 blocks (3x3 or 4x4 luma sampling, valid only non-interleaved); given
    such a `sampling`, the copy has one scan per component instead.
    """
    script = None
    if sampling is not None and sum(h * v for h, v in sampling) > MAX_BLOCKS_IN_MCU:
        script = "".join(f"{c}: 0 63 0 0;\n" for c in range(len(sampling)))
    return jpegtran.transcode(source, script)
