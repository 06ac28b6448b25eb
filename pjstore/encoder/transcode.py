"""Lossless transcoding: the source's DCT coefficients, re-emitted with a given scan script.

The result carries its own parsed structure, so callers get the byte offset where every scan
ends (the cut points of scan-complete prefixes) from the file as written, not from a prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

from pjstore.encoder import metadata
from pjstore.encoder.metadata import KeptMetadata
from pjstore.encoder.scan import MAX_BLOCKS_IN_MCU, ScanScript
from pjstore.encoder.structure import JpegStructure, parse
from pjstore.errors import ToolError
from tools.jpegtran_wrapper import Jpegtran


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
    raw = jpegtran.transcode(source, script.render())
    out = metadata.insert(raw, parse(raw), metadata.segments(meta))
    structure = parse(out)
    written = tuple(s.scan for s in structure.scans)
    if written != script.scans:
        raise ToolError(f"jpegtran wrote {len(written)} scans that differ from the {len(script)}-scan script")
    return Transcoded(out, structure)


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
