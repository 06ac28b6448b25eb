"""Every kind of file in ../shared/corpus/edge (its MANIFEST.md says what each must do), made here
from Pillow, jpegtran, jpeglib and raw bytes, so the edge cases run on a clean clone.

`CASES` maps a name to a `Case`: the manifest file it stands for, how to make its bytes, and the
typed error it must raise (None: it must be stored losslessly). Metadata pjstore must drop carries
`SECRET`, so a test can look for it in what is stored and served.
"""

from __future__ import annotations

import io
import math
import os
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from pjstore.errors import CorruptJpeg, EmptyInput, NotAJpeg, PjstoreError, TooLarge, TruncatedJpeg, UnsupportedJpeg
from pjstore.samples import encode

from helpers import crop, exif_orientation, jpegtran, srgb_icc, wide_icc

SECRET = b"pjstore-must-drop-this"  # in every metadata item that must not be stored or served
UPRIGHT = ("chelsea", 160, 120)  # the picture every orientation case shows once turned upright
# Pillow transposes that undo what exif_transpose() applies for each orientation.
UNDO_ORIENTATION = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                    6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}
SOF0, SOS, EOI = 0xC0, 0xDA, b"\xff\xd9"


@dataclass(frozen=True)
class Case:
    row: str | None  # the edge corpus file (MANIFEST.md's first column) it stands for
    make: Callable[[], bytes]
    error: type[PjstoreError] | None = None  # None: accepted


# --- raw bytes: marker segments ------------------------------------------------------------------

def header_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, offset of its 0xFF, total length) of every segment from SOI up to the first SOS."""
    out, pos = [], 2
    while True:
        marker = data[pos + 1]
        length = 2 + struct.unpack_from(">H", data, pos + 2)[0]
        out.append((marker, pos, length))
        if marker == SOS:
            return out
        pos += length


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def after_soi(data: bytes, *segments: bytes) -> bytes:
    return data[:2] + b"".join(segments) + data[2:]


def without(data: bytes, marker: int) -> bytes:
    """`data` without any header segment of `marker`."""
    cut = [(off, off + n) for m, off, n in header_segments(data) if m == marker]
    for start, stop in reversed(cut):
        data = data[:start] + data[stop:]
    return data


def frame_offset(data: bytes) -> int:
    return next(off for m, off, _ in header_segments(data) if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC))


def with_frame(data: bytes, *, marker: int | None = None, precision: int | None = None,
               size: tuple[int, int] | None = None) -> bytes:
    """`data` with its frame header's marker code, sample precision or (width, height) replaced."""
    d, i = bytearray(data), frame_offset(data)
    if marker is not None:
        d[i + 1] = marker
    if precision is not None:
        d[i + 4] = precision
    if size is not None:
        d[i + 5 : i + 9] = struct.pack(">HH", size[1], size[0])
    return bytes(d)


def with_component_ids(data: bytes, ids: tuple[int, ...]) -> bytes:
    """`data` with its frame header's component identifiers replaced."""
    d, i = bytearray(data), frame_offset(data)
    for n, ident in enumerate(ids):
        d[i + 10 + 3 * n] = ident
    return bytes(d)


def with_components(gray: bytes, n: int) -> bytes:
    """A grayscale JPEG whose frame header claims `n` components (all sharing table 0)."""
    i = frame_offset(gray)
    length = struct.unpack_from(">H", gray, i + 2)[0]
    head = gray[i + 4 : i + 9]
    comps = b"".join(bytes([c + 1, 0x11, 0]) for c in range(n))
    return gray[:i] + segment(gray[i + 1], head + bytes([n]) + comps) + gray[i + 2 + length :]


def entropy_start(data: bytes) -> int:
    marker, off, length = header_segments(data)[-1]
    return off + length


def damaged_entropy(data: bytes) -> bytes:
    """Bit errors inside the entropy-coded data (no marker created): decoders warn, data are lost."""
    d = bytearray(data)
    for i in range(entropy_start(data) + 100, len(d) - 10, 97):
        if d[i] != 0xFF and d[i - 1] != 0xFF and d[i] ^ 0x5A != 0xFF:
            d[i] ^= 0x5A
    return bytes(d)


def marker_in_entropy(data: bytes) -> bytes:
    """An invalid marker (0xFF 0x9F) in the middle of the entropy-coded data, as in the corpus file."""
    i = (entropy_start(data) + len(data)) // 2
    return data[:i] + b"\xff\x9f" + data[i:]


# --- metadata ------------------------------------------------------------------------------------

def tiff(entries: list[tuple[int, int, bytes]], thumbnail: bytes | None = None, big_endian: bool = False) -> bytes:
    """A minimal EXIF block: IFD0 of (tag, type, value bytes), and with `thumbnail` an IFD1 pointing
    at that JPEG, stored after the tables as cameras do."""
    e = ">" if big_endian else "<"
    sizes = {1: 1, 2: 1, 3: 2, 4: 4, 7: 1}
    ifd1_at = 8 + 2 + 12 * len(entries) + 4
    data_at = ifd1_at + (2 + 12 * 2 + 4 if thumbnail else 0)
    out, data = bytearray((b"MM" if big_endian else b"II") + struct.pack(e + "HI", 42, 8)), bytearray()
    out += struct.pack(e + "H", len(entries))
    for tag, kind, value in entries:
        count = len(value) // sizes[kind]
        if len(value) <= 4:
            out += struct.pack(e + "HHI", tag, kind, count) + value.ljust(4, b"\x00")
        else:
            out += struct.pack(e + "HHII", tag, kind, count, data_at + len(data))
            data += value
    out += struct.pack(e + "I", ifd1_at if thumbnail else 0)
    if thumbnail:
        out += struct.pack(e + "H", 2)
        out += struct.pack(e + "HHII", 0x0201, 4, 1, data_at + len(data))  # JPEGInterchangeFormat
        out += struct.pack(e + "HHII", 0x0202, 4, 1, len(thumbnail))  # ... and its length
        out += struct.pack(e + "I", 0)
        data += thumbnail
    return b"Exif\x00\x00" + bytes(out + data)


def camera_exif(thumbnail: bytes) -> bytes:
    """A camera's EXIF: make and model, a maker note, and an IFD1 holding a JPEG thumbnail."""
    return tiff([(0x010F, 2, b"Canon\x00"), (0x0110, 2, b"Canon EOS 40D\x00"), (0x927C, 7, SECRET.ljust(600, b"m"))],
                thumbnail)


def gps_exif() -> bytes:
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    exif[0x010E] = SECRET.decode()  # ImageDescription
    return exif.tobytes()


def xmp(extra: str = "") -> bytes:
    return (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="' + SECRET + b'" '
            + extra.encode() + b"/></rdf:RDF></x:xmpmeta>")


def photoshop_irb() -> bytes:
    """APP13: a Photoshop image resource block with an IPTC caption."""
    iptc = b"\x1c\x02\x78" + struct.pack(">H", len(SECRET)) + SECRET
    return b"Photoshop 3.0\x00" + b"8BIM" + struct.pack(">HBxI", 0x0404, 0, len(iptc)) + iptc


ICC = b"ICC_PROFILE\x00"


def icc_chunks(profile: bytes, pieces: int) -> list[bytes]:
    """`profile` cut into `pieces` APP2 payloads without their (sequence, count) bytes."""
    size = math.ceil(len(profile) / pieces)
    return [profile[i:i + size] for i in range(0, len(profile), size)]


def with_icc(jpeg: bytes, chunks: list[tuple[int, int, bytes]]) -> bytes:
    """`jpeg` with APP2 ICC chunks (sequence number, declared count, bytes), in the order given."""
    return after_soi(jpeg, *(segment(0xE2, ICC + bytes([seq, count]) + body) for seq, count, body in chunks))


def big_icc() -> bytes:
    """A profile too big for one APP2 segment (it is split across three), padded after its tags."""
    icc = srgb_icc()
    # The header's first field is the profile's size: a padded profile that kept the old size would
    # not describe itself, and pjstore rightly drops such a profile.
    return (150_000).to_bytes(4, "big") + icc[4:] + bytes(150_000 - len(icc))


# --- images --------------------------------------------------------------------------------------

def photo(w: int = 240, h: int = 180, name: str = "astronaut") -> np.ndarray:
    return crop(name, w, h)


def oriented(orientation: int, big_endian: bool = False) -> bytes:
    """The upright picture stored turned so that EXIF `orientation` turns it upright again."""
    image = Image.fromarray(crop(*UPRIGHT))
    if UNDO_ORIENTATION[orientation] is not None:
        image = image.transpose(UNDO_ORIENTATION[orientation])
    if big_endian:
        exif = tiff([(0x0112, 3, struct.pack(">H", orientation))], big_endian=True)
        return after_soi(encode(np.asarray(image), 88), segment(0xE1, exif))
    return encode(np.asarray(image), 88, exif=exif_orientation(orientation))


def with_sampling(pixels: np.ndarray, sampling: tuple[tuple[int, int], ...], quality: int = 85) -> bytes:
    """Encode with any sampling factors, (h, v) per component (Pillow knows only three)."""
    import jpeglib

    image = jpeglib.from_spatial(np.array(pixels))  # a writable copy
    image.samp_factor = np.array([(v, h) for h, v in sampling])  # jpeglib wants (v, h)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out.jpg")
        image.write_spatial(path, qt=quality)
        with open(path, "rb") as fh:
            return fh.read()


def with_scans(data: bytes, script: str) -> bytes:
    """jpegtran's lossless copy of `data` with a scan script (sequential scans give a baseline file)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as fh:
        fh.write(script)
        fh.flush()
        return jpegtran(data, "-scans", fh.name)


def adobe_transform(data: bytes, transform: int) -> bytes:
    """`data` with its Adobe segment's colour transform replaced: 2 turns Pillow's CMYK into YCCK
    (the same data read as YCCK), as Photoshop writes it."""
    d = bytearray(data)
    i = next(off for m, off, _ in header_segments(data) if m == 0xEE)
    d[i + 15] = transform
    return bytes(d)


def cmyk(transform: int = 0) -> bytes:
    """Pillow's Adobe CMYK JPEG, with the Adobe segment's colour `transform`."""
    out = io.BytesIO()
    Image.fromarray(photo(160, 120, "coffee")).convert("CMYK").save(out, "JPEG", quality=90)
    return adobe_transform(out.getvalue(), transform)


def rgb_no_transform() -> bytes:
    """Three components stored as R, G, B (Adobe transform 0): no YCbCr conversion."""
    out = io.BytesIO()
    Image.fromarray(photo(160, 120, "rocket")).save(out, "JPEG", quality=90, keep_rgb=True, subsampling=0)
    return out.getvalue()


def large() -> bytes:
    """An 8 MP photo (3264x2448, as phones take), cheap to make: a sample photo scaled up."""
    image = Image.fromarray(photo(408, 306)).resize((3264, 2448), Image.BILINEAR)
    exif = Image.Exif()
    exif[0x0112] = 1
    exif[0x010F] = SECRET.decode()
    return encode(np.asarray(image), 85, exif=exif.tobytes(), xmp=xmp())


def progressive_prefix() -> bytes:
    """The first scans of a progressive file, closed with EOI: valid, with the rest never sent."""
    data = jpegtran(encode(photo(), 85), "-progressive")
    cut = [i for i in range(entropy_start(data), len(data) - 1) if data[i] == 0xFF and data[i + 1] == SOS][2]
    return data[:cut] + EOI


def other_format(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.fromarray(photo(64, 48)).save(out, fmt)
    return out.getvalue()


def base() -> bytes:
    return encode(photo(), 85)


def gray() -> bytes:
    return encode(crop("camera", 200, 150), 85)


def stretched(w: int, h: int) -> bytes:
    return encode(np.asarray(Image.fromarray(photo(512, 512, "hubble_deep_field")).resize((w, h), Image.LANCZOS)), 90)


# --- degenerate images: what tests/test_degenerate.py draws from ---------------------------------

CONTENTS = ("black", "white", "grey", "saturated", "noise")
COLOURS = ("rgb", "grey", "cmyk", "ycck")
# (h, v) per component: Pillow's three, libjpeg's other common ones, and odd ones (chroma finer
# than luma, a factor of 3).
SAMPLINGS = {"4:4:4": ((1, 1),) * 3, "4:2:2": ((2, 1), (1, 1), (1, 1)), "4:2:0": ((2, 2), (1, 1), (1, 1)),
             "4:1:1": ((4, 1), (1, 1), (1, 1)), "4:4:0": ((1, 2), (1, 1), (1, 1)),
             "chroma_finer": ((1, 1), (2, 2), (1, 1)), "3x1": ((3, 1), (1, 1), (1, 1)),
             "luma_2x2_chroma_1x2": ((2, 2), (1, 2), (1, 2))}
# jpegtran's arguments for each coding process ("extended": a baseline file marked SOF1).
CODINGS = {"baseline": (), "extended": (), "progressive": ("-progressive",), "arithmetic": ("-arithmetic",),
           "arithmetic_progressive": ("-arithmetic", "-progressive")}
# How the ICC profile is sent: sRGB's in one chunk or three (in order, shuffled, or with a fault in
# their sequence numbers or counts), a profile to convert from (not sRGB), or bytes that are not one.
ICC_KINDS = ("none", "srgb", "srgb_in_3", "shuffled", "wide", "wide_linear", "not_a_profile", "sequence_zero",
             "count_mismatch", "duplicate", "missing", "sequence_over_count")


@dataclass(frozen=True)
class Degenerate:
    """A small or flat JPEG of a given kind (every field one axis the property test draws)."""

    width: int
    height: int
    content: str = "black"  # CONTENTS
    level: int = 0  # the grey level, or the seed of saturated and noise content
    colour: str = "rgb"  # COLOURS
    sampling: str = "4:2:0"  # SAMPLINGS key (colour "rgb" only)
    quality: int = 90
    coding: str = "baseline"  # CODINGS key
    restart: int = 0  # restart interval in MCUs (0: none)
    icc: str = "none"  # ICC_KINDS
    orientation: int | None = None  # EXIF orientation, if any (9: out of range)

    def pixels(self) -> np.ndarray:
        channels = 1 if self.colour == "grey" else 3
        shape = (self.height, self.width, channels)
        rng = np.random.default_rng(self.level)
        if self.content == "saturated":  # every sample 0 or 255: pure primaries and secondaries
            image = rng.integers(0, 2, shape, dtype=np.uint8) * np.uint8(255)
        elif self.content == "noise":
            image = rng.integers(0, 256, shape, dtype=np.uint8)
        else:
            image = np.full(shape, {"black": 0, "white": 255, "grey": self.level}[self.content], np.uint8)
        return image[..., 0] if channels == 1 else image

    def make(self) -> bytes:
        pixels = self.pixels()
        if self.colour == "rgb":
            data = with_sampling(pixels, SAMPLINGS[self.sampling], self.quality)
        elif self.colour == "grey":
            data = encode(pixels, self.quality)
        else:
            out = io.BytesIO()
            Image.fromarray(pixels).convert("CMYK").save(out, "JPEG", quality=self.quality)
            data = adobe_transform(out.getvalue(), 2) if self.colour == "ycck" else out.getvalue()
        args = CODINGS[self.coding] + (("-restart", f"{self.restart}B") if self.restart else ())
        if args:
            data = jpegtran(data, *args)
        if self.coding == "extended":
            data = with_frame(data, marker=0xC1)
        if self.orientation is not None:
            data = after_soi(data, segment(0xE1, exif_orientation(self.orientation)))
        return with_icc(data, icc_sent(self.icc)) if self.icc != "none" else data


def icc_sent(kind: str) -> list[tuple[int, int, bytes]]:
    """The APP2 chunks of ICC_KINDS `kind`: (sequence number, declared count, bytes)."""
    if kind == "not_a_profile":
        return [(1, 1, SECRET * 40)]
    if kind.startswith("wide"):
        return [(1, 1, wide_icc(linear=kind == "wide_linear"))]
    pieces = icc_chunks(srgb_icc(), 1 if kind == "srgb" else 3)
    chunks = [(seq, len(pieces), body) for seq, body in enumerate(pieces, 1)]
    if kind == "shuffled":
        chunks = chunks[::-1]
    elif kind == "sequence_zero":
        chunks[0] = (0, 3, pieces[0])
    elif kind == "count_mismatch":
        chunks[2] = (3, 4, pieces[2])
    elif kind == "duplicate":
        chunks[2] = (2, 3, pieces[2])
    elif kind == "missing":
        del chunks[1]
    elif kind == "sequence_over_count":
        chunks[2] = (4, 3, pieces[2])
    return chunks


# Successive approximation: DC and AC sent in two bit planes, spectral bands split.
SUCCESSIVE = """0,1,2: 0-0, 0, 1;
0: 1-5, 0, 2;
2: 1-63, 0, 1;
1: 1-63, 0, 1;
0: 6-63, 0, 2;
0: 1-63, 2, 1;
0,1,2: 0-0, 1, 0;
2: 1-63, 1, 0;
1: 1-63, 1, 0;
0: 1-63, 1, 0;
"""
ORIENTATION_ROWS = {1: "exif_orientation_landscape_1", 3: "exif_orientation_landscape_3",
                    5: "exif_orientation_portrait_5", 6: "exif_orientation_landscape_6",
                    8: "exif_orientation_landscape_8"}

# row None: a kind the edge corpus has no file for.
CASES: dict[str, Case] = {
    # scans and coding
    "progressive_jpegtran": Case("already_progressive", lambda: jpegtran(base(), "-progressive")),
    "progressive_successive_approximation": Case(None, lambda: with_scans(base(), SUCCESSIVE)),
    "progressive_prefix_closed_with_eoi": Case(None, progressive_prefix),
    "arithmetic_sequential": Case("arithmetic_coded", lambda: jpegtran(base(), "-arithmetic")),
    "arithmetic_progressive": Case(None, lambda: jpegtran(base(), "-arithmetic", "-progressive")),
    "sequential_noninterleaved": Case("sequential_noninterleaved", lambda: with_scans(base(), "0;\n1;\n2;\n")),
    "sequential_partly_interleaved": Case(None, lambda: with_scans(base(), "0;\n1,2;\n")),
    "restart_every_mcu": Case("restart_markers", lambda: encode(photo(190, 130), 85, restart_marker_blocks=1)),
    "restart_every_row_444": Case(None, lambda: encode(photo(190, 130), 85, "4:4:4", restart_marker_rows=1)),
    "fill_bytes_before_markers": Case(None, lambda: base().replace(b"\xff\xc4", b"\xff\xff\xff\xc4")),
    "data_after_eoi": Case(None, lambda: base() + SECRET + b"\xff\xd8" + base()),
    # colour and sampling
    "grayscale": Case("grayscale", gray),
    "cmyk": Case("cmyk", cmyk),
    "ycck": Case(None, lambda: cmyk(transform=2)),
    "rgb_no_colour_transform": Case(None, rgb_no_transform),
    "subsampling_444": Case("subsampling_444", lambda: encode(photo(), 92, "4:4:4")),
    "subsampling_422": Case("subsampling_422", lambda: encode(photo(), 85, "4:2:2")),
    "subsampling_420": Case(None, lambda: encode(photo(), 85, "4:2:0")),
    "subsampling_411": Case(None, lambda: with_sampling(photo(), ((4, 1), (1, 1), (1, 1)))),
    "subsampling_440": Case(None, lambda: with_sampling(photo(), ((1, 2), (1, 1), (1, 1)))),
    "chroma_sampled_finer_than_luma": Case(None, lambda: with_sampling(photo(), ((1, 1), (2, 2), (1, 1)))),
    "quality_100": Case("quality_100", lambda: encode(photo(), 100, "4:4:4")),
    "quality_30": Case("quality_30", lambda: encode(photo(), 30)),
    "quality_1": Case(None, lambda: encode(photo(), 1)),
    # sizes
    "tiny_1x1": Case("tiny_1x1", lambda: encode(photo(1, 1, "coffee"), 90)),
    "tiny_7x5": Case("tiny_7x5", lambda: encode(photo(7, 5, "coffee"), 90)),
    "one_mcu_and_a_pixel_17x17": Case(None, lambda: encode(photo(17, 17, "coffee"), 90)),
    "extreme_aspect_1001x3": Case("extreme_aspect_1001x3", lambda: stretched(1001, 3)),
    "extreme_aspect_3x1001": Case(None, lambda: stretched(3, 1001)),
    # Flat frames (a lens-cap shot): a black one was once refused with numpy's LinAlgError.
    **{f"flat_640x480_{content}": Case(None, lambda content=content: Degenerate(640, 480, content, 128).make())
       for content in ("black", "white", "grey")},
    "flat_640x480_black_greyscale": Case(None, lambda: Degenerate(640, 480, colour="grey").make()),
    # The shapes of valid files from public JPEG test suites once refused the same way: 8x8 black
    # greyscale in every coding process, and 1x1 black ones with profiles sent well and badly.
    **{f"black_8x8_grey_{coding}": Case(None, lambda coding=coding: Degenerate(8, 8, colour="grey",
                                                                                coding=coding).make())
       for coding in CODINGS},
    **{f"icc_1x1_{icc}": Case(None, lambda icc=icc: Degenerate(1, 1, icc=icc).make())
       for icc in ("srgb", "sequence_zero", "count_mismatch", "duplicate", "missing", "sequence_over_count")},
    "phone_8mp": Case("phone_3264x2448", large),
    # metadata
    **{f"orientation_{o}": Case(ORIENTATION_ROWS.get(o), lambda o=o: oriented(o)) for o in range(1, 9)},
    "orientation_6_big_endian_exif": Case(None, lambda: oriented(6, big_endian=True)),
    "orientation_out_of_range": Case(None, lambda: encode(photo(), 85, exif=exif_orientation(9))),
    "damaged_exif": Case(None, lambda: after_soi(  # IFD0 offset far past the end of the block
        base(), segment(0xE1, b"Exif\x00\x00II*\x00\xff\xff\xff\x7f" + SECRET))),
    "gps_exif_and_xmp": Case("gps_exif", lambda: encode(photo(), 85, exif=gps_exif(),
                                                        xmp=xmp('exif:GPSLatitude="51,30N"'))),
    "camera_exif_thumbnail_icc": Case("camera_canon40d", lambda: encode(
        photo(100, 68), 90, "4:4:4", exif=camera_exif(encode(photo(32, 24), 70)), icc_profile=srgb_icc())),
    "xmp_iptc_comment": Case("xmp_bluesquare", lambda: after_soi(
        encode(photo(), 85, xmp=xmp(), comment=SECRET, restart_marker_blocks=23), segment(0xED, photoshop_irb()))),
    "largest_exif_segment": Case(None, lambda: encode(photo(), 85, exif=tiff([(0x927C, 7, (SECRET * 4000)[:65_400])]))),
    # 500: just under the cap on APPn/COM segments (512; more is refused, tests/test_hostile.py)
    "five_hundred_comments": Case(None, lambda: after_soi(base(), *[segment(0xFE, SECRET)] * 500)),
    "icc_srgb": Case("icc_srgb", lambda: encode(photo(), 85, icc_profile=srgb_icc())),
    "icc_in_three_segments": Case(None, lambda: encode(photo(), 85, icc_profile=big_icc())),
    # Not sRGB, and converting it does not commute with resizing: renditions convert after the
    # resize, the floor (a static copy) before it.
    "icc_linear_not_srgb": Case(None, lambda: encode(photo(), 90, "4:4:4", icc_profile=wide_icc(linear=True))),
    # refused
    "empty": Case("empty", lambda: b"", EmptyInput),
    "png": Case("png_named_jpg", lambda: other_format("PNG"), NotAJpeg),
    **{fmt.lower(): Case(None, lambda fmt=fmt: other_format(fmt), NotAJpeg) for fmt in ("GIF", "BMP", "TIFF", "WEBP")},
    "text": Case("text_named_jpg", lambda: b"this is not a picture, whatever its name says\n" * 8, NotAJpeg),
    "truncated_60pct": Case("truncated_60pct", lambda: base()[: len(base()) * 6 // 10], TruncatedJpeg),
    "soi_only": Case(None, lambda: b"\xff\xd8", TruncatedJpeg),
    "truncated_in_header": Case(None, lambda: base()[:100], TruncatedJpeg),
    "truncated_after_a_scan": Case(None, lambda: progressive_prefix()[:-2], TruncatedJpeg),
    "missing_eoi": Case(None, lambda: base()[:-2], TruncatedJpeg),
    "segment_longer_than_file": Case(None, lambda: b"\xff\xd8\xff\xe1\xff\x00abc", TruncatedJpeg),
    "corrupt_marker_in_entropy_data": Case("corrupt_entropy_data", lambda: marker_in_entropy(large()), CorruptJpeg),
    "corrupt_entropy_bits": Case(None, lambda: damaged_entropy(encode(photo(250, 170), 90, "4:2:2")), CorruptJpeg),
    "segment_length_below_two": Case(None, lambda: after_soi(base(), b"\xff\xe1\x00\x01"), CorruptJpeg),
    "no_frame_header": Case(None, lambda: without(base(), SOF0), CorruptJpeg),
    "no_quantization_tables": Case(None, lambda: without(base(), 0xDB), CorruptJpeg),
    "duplicate_component_ids": Case(None, lambda: with_component_ids(base(), (1, 1, 3)), CorruptJpeg),
    "bomb_header_60000x60000": Case("bomb_header_60000x60000", lambda: with_frame(base(), size=(60000, 60000)),
                                    TooLarge),
    "lossless_sof3": Case(None, lambda: with_frame(base(), marker=0xC3), UnsupportedJpeg),
    "hierarchical_sof5": Case(None, lambda: with_frame(base(), marker=0xC5), UnsupportedJpeg),
    "twelve_bit_sof1": Case(None, lambda: with_frame(base(), marker=0xC1, precision=12), UnsupportedJpeg),
    "two_components": Case(None, lambda: with_components(gray(), 2), UnsupportedJpeg),
    "height_zero_dnl": Case(None, lambda: with_frame(base(), size=(240, 0)), UnsupportedJpeg),
}
ACCEPTED = sorted(n for n, c in CASES.items() if c.error is None)
REJECTED = sorted(n for n, c in CASES.items() if c.error is not None)
