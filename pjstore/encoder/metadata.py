"""The metadata a stored file keeps: EXIF orientation and the ICC colour profile, nothing else.

Everything else (GPS and the rest of EXIF, XMP, comments, thumbnails) is dropped at ingest, so it
can never sit inside a prefix or reach anything served. The two kept items are written back as
minimal segments right after jpegtran's own header, ahead of the first scan.
"""

from __future__ import annotations

import itertools
import struct
import warnings
from dataclasses import dataclass, field

from PIL import Image

from pjstore.encoder.structure import APP0, APP1, APP2, APP14, APP15, COM, JpegStructure, Segment
from pjstore.errors import ExifDropped, IccDropped, IccRepaired, MetadataWarning

EXIF_SIGNATURE = b"Exif\x00\x00"
ICC_SIGNATURE = b"ICC_PROFILE\x00"
ORIENTATION_TAG = 0x0112
_ICC_CHUNK = 65535 - 2 - len(ICC_SIGNATURE) - 2
_ICC_HEADER = 128  # ICC.1 section 7.2: size (bytes 0-3) ... 'acsp' (bytes 36-39)
# Display and camera RGB profiles are a few KB; press CMYK profiles, the largest in common use,
# run to several hundred KB. A bigger profile is dropped (with a warning), since it would travel
# with every rendition: without a cap, 255 chunks make a 16.7 MB profile that a 1x1 rendition carries.
DEFAULT_MAX_ICC_BYTES = 1 << 20


@dataclass(frozen=True)
class KeptMetadata:
    """EXIF orientation (1-8) and the ICC profile bytes, if any."""

    orientation: int = 1
    icc_profile: bytes | None = None
    warnings: tuple[MetadataWarning, ...] = field(default=(), compare=False)  # what was repaired or dropped

    def __post_init__(self) -> None:
        if not 1 <= self.orientation <= 8:
            raise ValueError(f"EXIF orientation must be 1..8, not {self.orientation}")

    @property
    def swaps_axes(self) -> bool:
        """Orientations 5-8 transpose the image, so served width and height swap."""
        return self.orientation >= 5


def extract(data: bytes, structure: JpegStructure, max_icc_bytes: int = DEFAULT_MAX_ICC_BYTES) -> KeptMetadata:
    """Read orientation and ICC profile from the source's APP segments.

    Malformed metadata never refuses an image: it is repaired or dropped, and each such step is
    a warning in the result. Reads only segment payloads, so it runs before any pixel is decoded.
    """
    exif = next((seg for seg in structure.segments
                 if seg.marker == APP1 and seg.payload(data).startswith(EXIF_SIGNATURE)), None)
    orientation, exif_warnings = _orientation(exif.payload(data)) if exif else (1, ())
    icc_segments = [seg for seg in structure.segments
                    if seg.marker == APP2 and seg.payload(data).startswith(ICC_SIGNATURE)]
    icc, icc_warnings = _icc_profile(data, icc_segments, max_icc_bytes) if icc_segments else (None, ())
    return KeptMetadata(orientation, icc, exif_warnings + icc_warnings)


def _orientation(exif_payload: bytes) -> tuple[int, tuple[MetadataWarning, ...]]:
    exif = Image.Exif()
    try:
        with warnings.catch_warnings():  # Pillow warns of damage it reads past; the outcome is judged here
            warnings.simplefilter("ignore")
            exif.load(exif_payload)
            value = int(exif.get(ORIENTATION_TAG, 1))
    except Exception as exc:  # a damaged EXIF block must not reject an otherwise good image
        return 1, (ExifDropped(f"unreadable EXIF block ({type(exc).__name__}); orientation taken as 1"),)
    if not 1 <= value <= 8:
        return 1, (ExifDropped(f"EXIF orientation {value} is not 1..8; taken as 1"),)
    return value, ()


def _icc_profile(data: bytes, segments: list[Segment], limit: int) -> tuple[bytes | None, tuple[MetadataWarning, ...]]:
    """Reassemble the profile from its APP2 chunks (ICC.1 annex B.4: each chunk carries its
    1-based sequence number and the chunk count). Chunks out of file order are put in sequence
    order; any other fault in the sequence, or a profile whose header does not declare the
    assembled size, drops the profile, as no reader could tell which bytes were meant."""
    declared = sum(seg.length - 4 - len(ICC_SIGNATURE) - 2 for seg in segments)
    if declared > limit:  # judged from segment lengths alone, before joining anything
        return None, (IccDropped(f"ICC profile of {declared} bytes exceeds the limit of {limit} bytes"),)
    chunks = [(p[12], p[13], p[14:]) for p in (seg.payload(data) for seg in segments) if len(p) >= 14]
    problem = _sequence_fault(chunks) if len(chunks) == len(segments) else "a chunk too short for its header"
    if problem:
        return None, (IccDropped(f"malformed ICC chunk sequence: {problem}"),)
    profile = b"".join(body for _, _, body in sorted(chunks, key=lambda c: c[0]))
    if len(profile) < _ICC_HEADER or int.from_bytes(profile[:4], "big") != len(profile) \
            or profile[36:40] != b"acsp":
        return None, (IccDropped(f"the {len(profile)}-byte ICC profile's header does not describe it"),)
    if any(a[0] > b[0] for a, b in itertools.pairwise(chunks)):
        return profile, (IccRepaired(f"{len(chunks)} ICC chunks out of order; reassembled by sequence number"),)
    return profile, ()


def _sequence_fault(chunks: list[tuple[int, int, bytes]]) -> str | None:
    """What is wrong with the chunks' (sequence number, count) pairs, or None if they are 1..N of N."""
    count = len(chunks)
    counts = sorted({n for _, n, _ in chunks})
    if counts != [count]:
        return f"{count} chunks, but they declare a count of {', '.join(map(str, counts))}"
    seen: set[int] = set()
    for seq, _, _ in chunks:
        if not 1 <= seq <= count:
            return f"sequence number {seq} outside 1..{count}"
        if seq in seen:
            return f"sequence number {seq} appears twice"
        seen.add(seq)
    return None


def without_metadata(data: bytes, structure: JpegStructure) -> bytes:
    """`data` without the APPn and COM segments no decoder reads: all but APP0 (JFIF) and APP14
    (Adobe), which say how to interpret the colours. Coefficients and decoded pixels are those of
    `data`; a profile or EXIF block of megabytes is then never piped to jpegtran or parsed again."""
    pieces, pos = [], 0
    for seg in structure.segments:
        if seg.marker == COM or (APP0 < seg.marker <= APP15 and seg.marker != APP14):
            pieces.append(data[pos:seg.offset])
            pos = seg.offset + seg.length
    pieces.append(data[pos:])
    return b"".join(pieces)


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
