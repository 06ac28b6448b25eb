"""JPEG structure reader: markers, frame header, scan headers and where each scan's data ends.

It reads only marker segments and skips over entropy-coded data, so it is cheap on any input and
is the first thing every byte string meets: anything that is not a well-formed JPEG, or that claims
more pixels than allowed, is refused here, before a decoder allocates a pixel buffer.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from pjstore.encoder.scan import MAX_SCANS, Scan
from pjstore.errors import (
    CorruptJpeg,
    EmptyInput,
    InvalidScanScript,
    NotAJpeg,
    TooLarge,
    TruncatedJpeg,
    UnsupportedJpeg,
)

SOI, EOI, SOS, DHT, DQT, DRI, DNL = 0xD8, 0xD9, 0xDA, 0xC4, 0xDB, 0xDD, 0xDC
APP0, APP1, APP2, APP14, APP15, COM = 0xE0, 0xE1, 0xE2, 0xEE, 0xEF, 0xFE
RST0, RST7 = 0xD0, 0xD7
# SOF markers: C0-C3, C5-C7, C9-CB, CD-CF (C4 DHT, C8 JPG, CC DAC are not frames).
SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
# End of entropy-coded data: an 0xFF followed by anything but a stuffed zero, RSTn or more fill.
# A fixed two-byte pattern, so the search is linear; the fill 0xFFs before it are stepped over
# afterwards (a pattern starting with "\xff+" backtracks over every run: quadratic in its length).
_MARKER_AFTER_DATA = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_NOT_FILL = re.compile(rb"[^\xff]")
_FILL_STEP = 1 << 16  # bytes looked at per step when stepping back over fill

# Caps on what a file may contain, checked while reading its markers, before any pixel decode.
# Real progressive JPEGs have about 6-20 scans; pjstore writes at most 100 (jpegtran's own limit
# on a scan script), so 100 keeps every pjstore file re-ingestible and bounds the decode to 100
# passes over the coefficients (libjpeg-turbo's fuzzers set TJPARAM_SCANLIMIT to 500).
DEFAULT_MAX_SCANS = MAX_SCANS
# An ICC profile takes at most 255 APP2 chunks; EXIF, XMP (extended XMP spans several APP1
# segments) and the rest fit many times over in what remains. Each segment is a Python step here,
# so a count cap keeps a body of millions of empty segments from costing seconds.
DEFAULT_MAX_APP_SEGMENTS = 512
# Tables (DHT, DQT, DRI) are written ahead of each scan, a few per scan at most.
_TABLE_SEGMENTS_PER_SCAN = 8


@dataclass(frozen=True)
class Component:
    """A frame component: identifier, sampling factors and quantization table number."""

    ident: int
    h: int
    v: int
    tq: int


@dataclass(frozen=True)
class Frame:
    """The SOF header: coding process, precision, size and components."""

    marker: int
    precision: int
    width: int
    height: int
    components: tuple[Component, ...]

    @property
    def progressive(self) -> bool:
        return self.marker in (0xC2, 0xC6, 0xCA, 0xCE)

    @property
    def arithmetic(self) -> bool:
        return self.marker >= 0xC9

    @property
    def lossless(self) -> bool:
        return self.marker in (0xC3, 0xC7, 0xCB, 0xCF)

    @property
    def hierarchical(self) -> bool:
        return self.marker in (0xC5, 0xC6, 0xC7, 0xCD, 0xCE, 0xCF)

    @property
    def sampling(self) -> tuple[tuple[int, int], ...]:
        return tuple((c.h, c.v) for c in self.components)

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True)
class Segment:
    """A marker segment: marker code, offset of its 0xFF, and total length in bytes."""

    marker: int
    offset: int
    length: int

    def payload(self, data: bytes) -> bytes:
        return data[self.offset + 4 : self.offset + self.length]


@dataclass(frozen=True)
class ScanRecord:
    """One scan in a file: its components, its progressive parameters (None for a sequential
    scan, which carries every coefficient), the SOS offset and the end of its entropy data."""

    components: tuple[int, ...]
    scan: Scan | None
    sos_offset: int
    data_end: int


@dataclass(frozen=True)
class JpegStructure:
    frame: Frame
    segments: tuple[Segment, ...]
    scans: tuple[ScanRecord, ...]
    restart_interval: int
    color_space: str

    @property
    def scan_ends(self) -> tuple[int, ...]:
        """Byte offsets at which a scan-complete prefix may be cut, in file order."""
        return tuple(s.data_end for s in self.scans)


def parse(data: bytes, max_pixels: int | None = None, *, max_scans: int = DEFAULT_MAX_SCANS,
          max_app_segments: int = DEFAULT_MAX_APP_SEGMENTS, header_only: bool = False) -> JpegStructure:
    """Read the marker structure of a complete JPEG file, in time linear in its length.

    With `header_only`, stop at the first scan header: the tables, frame and metadata of a file
    whose entropy-coded data is damaged (the structure then has no scans).
    Raises EmptyInput, NotAJpeg, TruncatedJpeg, CorruptJpeg, UnsupportedJpeg, or TooLarge (more
    pixels, scans or APPn/COM segments than allowed).
    """
    if not data:
        raise EmptyInput("empty input (0 bytes)")
    if data[:2] != b"\xff\xd8":
        raise NotAJpeg(f"not a JPEG (starts with {_describe_magic(data)})")
    size = len(data)
    segments: list[Segment] = []
    scans: list[ScanRecord] = []
    frame: Frame | None = None
    restart_interval = 0
    app_segments = tables = 0
    pos = 2
    while True:
        marker, pos = _next_marker(data, pos)
        if marker == EOI:
            break
        if marker == SOI or RST0 <= marker <= RST7 or marker == 0x01:
            raise CorruptJpeg(f"unexpected marker 0x{marker:02X} at byte {pos - 2}")
        if pos + 2 > size:
            raise TruncatedJpeg(f"truncated in marker 0x{marker:02X} at byte {pos - 2}")
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2:
            raise CorruptJpeg(f"marker 0x{marker:02X} at byte {pos - 2} has length {length}")
        if pos + length > size:
            raise TruncatedJpeg(f"truncated inside marker 0x{marker:02X} at byte {pos - 2}")
        seg = Segment(marker, pos - 2, length + 2)
        segments.append(seg)
        if APP0 <= marker <= APP15 or marker == COM:
            app_segments += 1
            if app_segments > max_app_segments:
                raise TooLarge(f"more than {max_app_segments} APPn/COM segments (the limit)")
        elif marker != SOS:
            tables += 1
            if tables > _TABLE_SEGMENTS_PER_SCAN * (max_scans + 1):
                raise TooLarge(f"more than {_TABLE_SEGMENTS_PER_SCAN} table segments per scan (the limit)")
        body = data[pos + 2 : pos + length]
        pos += length
        if marker in SOF_MARKERS:
            if frame is not None:
                raise UnsupportedJpeg("more than one frame header (hierarchical JPEG)")
            frame = _parse_frame(marker, body, max_pixels)
        elif marker == DRI:
            if len(body) != 2:
                raise CorruptJpeg("restart interval segment has the wrong length")
            (restart_interval,) = struct.unpack(">H", body)
        elif marker == SOS:
            if frame is None:
                raise CorruptJpeg("scan before frame header")
            if len(scans) == max_scans:
                raise TooLarge(f"more than {max_scans} scans (the limit)")
            components, scan = _parse_scan(body, frame)
            if header_only:
                break
            end = _data_end(data, pos)
            if end is None:
                raise TruncatedJpeg(f"scan {len(scans) + 1} runs to the end of the data (no EOI)")
            scans.append(ScanRecord(components, scan, seg.offset, end))
            pos = end
    if frame is None:
        raise CorruptJpeg("no frame header (SOF) before end of image")
    if not scans and not header_only:
        raise CorruptJpeg("no scans before end of image")
    return JpegStructure(frame, tuple(segments), tuple(scans), restart_interval,
                         _color_space(frame, segments, data))


def _data_end(data: bytes, start: int) -> int | None:
    """Where the entropy-coded data starting at `start` ends: at the first of the fill 0xFFs
    before the next marker (never before `start`); None if no marker follows."""
    found = _MARKER_AFTER_DATA.search(data, start)
    if found is None:
        return None
    end = found.start()
    while end > start:  # step back over fill, a chunk at a time (C speed, linear)
        lo = max(start, end - _FILL_STEP)
        kept = len(data[lo:end].rstrip(b"\xff"))
        if kept:
            return lo + kept
        end = lo
    return start


def _next_marker(data: bytes, pos: int) -> tuple[int, int]:
    """Return (marker code, position after it); fill bytes 0xFF are skipped."""
    size = len(data)
    if pos >= size:
        raise TruncatedJpeg(f"data ends at byte {size} without an end-of-image marker")
    if data[pos] != 0xFF:
        raise CorruptJpeg(f"expected a marker at byte {pos}, found 0x{data[pos]:02X}")
    code = _NOT_FILL.search(data, pos)
    if code is None:
        raise TruncatedJpeg(f"data ends at byte {size} inside a marker")
    pos = code.start()
    if data[pos] < 0xC0 and data[pos] != 0x01:
        raise CorruptJpeg(f"invalid marker 0x{data[pos]:02X} at byte {pos - 1} (damaged entropy-coded data)")
    return data[pos], pos + 1


def _parse_frame(marker: int, body: bytes, max_pixels: int | None) -> Frame:
    if len(body) < 6:
        raise CorruptJpeg("frame header too short")
    precision, height, width, ncomp = struct.unpack_from(">BHHB", body)
    if len(body) != 6 + 3 * ncomp or ncomp == 0:
        raise CorruptJpeg(f"frame header length does not match {ncomp} components")
    comps = []
    for i in range(ncomp):
        ident, hv, tq = struct.unpack_from(">BBB", body, 6 + 3 * i)
        h, v = hv >> 4, hv & 0x0F
        if not (1 <= h <= 4 and 1 <= v <= 4) or tq > 3:
            raise CorruptJpeg(f"component {ident}: invalid sampling {h}x{v} or table {tq}")
        comps.append(Component(ident, h, v, tq))
    frame = Frame(marker, precision, width, height, tuple(comps))
    if frame.lossless or frame.hierarchical:
        raise UnsupportedJpeg(f"SOF 0x{marker:02X}: lossless and hierarchical JPEG are not stored")
    if precision != 8:
        raise UnsupportedJpeg(f"{precision}-bit samples: only 8-bit JPEG is supported")
    if width == 0 or height == 0:
        raise UnsupportedJpeg("height or width 0 in the frame header (DNL-defined height)")
    if ncomp not in (1, 3, 4):
        raise UnsupportedJpeg(f"{ncomp} components: only 1 (gray), 3 or 4 are supported")
    if len({c.ident for c in comps}) != ncomp:
        raise CorruptJpeg("duplicate component identifiers in the frame header")
    if max_pixels is not None and frame.pixels > max_pixels:
        raise TooLarge(
            f"{width}x{height} = {frame.pixels / 1e6:.1f} MP exceeds the limit of "
            f"{max_pixels / 1e6:.1f} MP"
        )
    return frame


def _parse_scan(body: bytes, frame: Frame) -> tuple[tuple[int, ...], Scan | None]:
    if not body:
        raise CorruptJpeg("empty scan header")
    ns = body[0]
    if len(body) != 4 + 2 * ns:
        raise CorruptJpeg(f"scan header length does not match {ns} components")
    index = {c.ident: i for i, c in enumerate(frame.components)}
    try:
        comps = tuple(index[body[1 + 2 * i]] for i in range(ns))
    except KeyError as exc:
        raise CorruptJpeg(f"scan names component {exc.args[0]} not in the frame") from None
    ss, se, ahal = body[1 + 2 * ns], body[2 + 2 * ns], body[3 + 2 * ns]
    if not frame.progressive:
        return comps, None
    try:
        return comps, Scan(comps, ss, se, ahal >> 4, ahal & 0x0F)
    except InvalidScanScript as exc:
        raise CorruptJpeg(f"invalid progressive scan header: {exc}") from None


def _color_space(frame: Frame, segments: list[Segment], data: bytes) -> str:
    """The colour space libjpeg assumes (jdapimin.c default_decompress_parms)."""
    n = len(frame.components)
    if n == 1:
        return "GRAY"
    jfif = any(s.marker == APP0 and data[s.offset + 4 : s.offset + 9] == b"JFIF\x00" for s in segments)
    adobe = [s for s in segments if s.marker == APP14 and data[s.offset + 4 : s.offset + 9] == b"Adobe"]
    transform = data[adobe[0].offset + 15] if adobe and adobe[0].length >= 16 else None
    if n == 3:
        if jfif:
            return "YCbCr"
        if transform is not None:
            return "RGB" if transform == 0 else "YCbCr"
        ids = tuple(c.ident for c in frame.components)
        return "RGB" if ids == (0x52, 0x47, 0x42) else "YCbCr"
    return "CMYK" if transform in (None, 0) else "YCCK"


def _describe_magic(data: bytes) -> str:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "a PNG signature"
    if data[:4] in (b"GIF8", b"RIFF") or data[:2] in (b"BM", b"II", b"MM"):
        return f"the signature {data[:4]!r}"
    head = data[:8]
    return f"bytes {head.hex(' ')}"
