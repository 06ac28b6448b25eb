"""The metadata a stored file keeps: EXIF orientation and the ICC colour profile, nothing else.

Everything else (GPS and the rest of EXIF, XMP, comments, thumbnails) is dropped at ingest, so it
can never sit inside a prefix or reach anything served. The two kept items are written back as
minimal segments right after jpegtran's own header, ahead of the first scan.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from PIL import Image

from pjstore.encoder.structure import APP0, APP1, APP2, APP14, JpegStructure

EXIF_SIGNATURE = b"Exif\x00\x00"
ICC_SIGNATURE = b"ICC_PROFILE\x00"
ORIENTATION_TAG = 0x0112
_ICC_CHUNK = 65535 - 2 - len(ICC_SIGNATURE) - 2


@dataclass(frozen=True)
class KeptMetadata:
    """EXIF orientation (1-8) and the ICC profile bytes, if any."""

    orientation: int = 1
    icc_profile: bytes | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.orientation <= 8:
            raise ValueError(f"EXIF orientation must be 1..8, not {self.orientation}")

    @property
    def swaps_axes(self) -> bool:
        """Orientations 5-8 transpose the image, so served width and height swap."""
        return self.orientation >= 5


def extract(data: bytes, structure: JpegStructure) -> KeptMetadata:
    """Read orientation and ICC profile from the source's APP segments (malformed ones ignored)."""
    orientation = 1
    icc_chunks: dict[int, bytes] = {}
    for seg in structure.segments:
        payload = seg.payload(data)
        if seg.marker == APP1 and payload.startswith(EXIF_SIGNATURE) and orientation == 1:
            orientation = _orientation(payload)
        elif seg.marker == APP2 and payload.startswith(ICC_SIGNATURE) and len(payload) > 14:
            icc_chunks.setdefault(payload[12], payload[14:])
    icc = b"".join(icc_chunks[k] for k in sorted(icc_chunks)) or None
    return KeptMetadata(orientation, icc)


def _orientation(exif_payload: bytes) -> int:
    exif = Image.Exif()
    try:
        exif.load(exif_payload)
        value = int(exif.get(ORIENTATION_TAG, 1))
    except Exception:  # a damaged EXIF block must not reject an otherwise good image
        return 1
    return value if 1 <= value <= 8 else 1


def segments(meta: KeptMetadata) -> bytes:
    """The APP1 (orientation-only EXIF) and APP2 (ICC) segments for `meta`."""
    out = b""
    if meta.orientation != 1:
        exif = Image.Exif()
        exif[ORIENTATION_TAG] = meta.orientation
        out += _segment(APP1, exif.tobytes())
    if meta.icc_profile:
        chunks = [meta.icc_profile[i : i + _ICC_CHUNK] for i in range(0, len(meta.icc_profile), _ICC_CHUNK)]
        for seq, chunk in enumerate(chunks, 1):
            out += _segment(APP2, ICC_SIGNATURE + bytes([seq, len(chunks)]) + chunk)
    return out


def insert(jpeg: bytes, structure: JpegStructure, extra: bytes) -> bytes:
    """Insert `extra` segments after SOI and the JFIF/Adobe header jpegtran wrote."""
    pos = 2
    for seg in structure.segments:
        if seg.offset != pos or seg.marker not in (APP0, APP14):
            break
        pos += seg.length
    return jpeg[:pos] + extra + jpeg[pos:]


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload
