"""What the test modules share: generated JPEGs of every kind, the shared corpus's location, the
CLI and HTTP helpers, and an independent implementation of the quality contract with the
assertions built on it (tests must not grade pjstore with its own code).

Fixtures live in conftest.py; test modules import from here, never from one another.
"""

from __future__ import annotations

import functools
import io
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pjstore.samples import encode, pixels

ROOT = Path(__file__).resolve().parents[1]
# The shared corpora: ../shared next to the checkout unless PJSTORE_SHARED says otherwise (set it
# to a missing path to see what a clean clone skips).
SHARED = Path(os.environ.get("PJSTORE_SHARED") or ROOT.parent / "shared")
EDGE = SHARED / "corpus" / "edge"
needs_shared = pytest.mark.skipif(not EDGE.is_dir(), reason=f"shared corpus not present at {SHARED}")
EOI = b"\xff\xd9"


# --- generated JPEGs -----------------------------------------------------------------------------

def crop(name: str, w: int, h: int) -> np.ndarray:
    return pixels(name)[:h, :w]


def exif_orientation(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS latitude: must never be served
    return exif.tobytes()


def jpegtran(data: bytes, *args: str) -> bytes:
    return subprocess.run(["jpegtran", *args], input=data, capture_output=True, check=True).stdout


@functools.cache
def srgb_icc() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _cmyk() -> bytes:
    out = io.BytesIO()
    Image.fromarray(crop("coffee", 160, 120)).convert("CMYK").save(out, "JPEG", quality=90)
    return out.getvalue()


# name -> bytes; each a kind of JPEG real uploads come as (edge_cases.py has the odd ones).
KINDS = {
    "420_q75": lambda: encode(crop("astronaut", 240, 200), 75, "4:2:0"),
    "422_q90": lambda: encode(crop("coffee", 250, 170), 90, "4:2:2"),
    "444_q95": lambda: encode(crop("chelsea", 203, 157), 95, "4:4:4"),
    "gray": lambda: encode(crop("camera", 200, 150), 85),
    "cmyk": _cmyk,
    "progressive_source": lambda: encode(crop("rocket", 220, 180), 85, "4:2:0", progressive=True),
    "restart_markers": lambda: encode(crop("astronaut", 190, 130), 85, "4:2:0", restart_marker_blocks=1),
    "tiny_1x1": lambda: encode(crop("coffee", 1, 1), 90),
    "tiny_7x5": lambda: encode(crop("coffee", 7, 5), 90),
    "extreme_1000x3": lambda: encode(crop("hubble_deep_field", 1000, 3), 90),
    "oriented_6": lambda: encode(crop("chelsea", 240, 160), 85, "4:2:0", exif=exif_orientation(6)),
    "icc": lambda: encode(crop("coffee", 200, 120), 85, "4:2:0", icc_profile=srgb_icc()),
    "wide_icc": lambda: encode(crop("coffee", 200, 120), 90, "4:4:4", icc_profile=wide_icc()),
    # A profile whose conversion to sRGB does not commute with resizing (the order is visible).
    "linear_icc": lambda: encode(crop("coffee", 200, 120), 90, "4:4:4", icc_profile=wide_icc(linear=True)),
    "oriented_8_odd": lambda: encode(crop("astronaut", 203, 117), 90, "4:2:0", exif=exif_orientation(8)),
}

# The scan search's test photos: larger crops at several qualities and samplings.
SEARCH_IMAGES = {
    "astronaut-q85-420": lambda: encode(pixels("astronaut")[100:340, 120:440], 85, "4:2:0"),
    "coffee-q95-444": lambda: encode(pixels("coffee")[60:300, 100:420], 95, "4:4:4"),
    "chelsea-q70-422": lambda: encode(pixels("chelsea")[30:270, 50:370], 70, "4:2:2"),
    "camera-gray-q90": lambda: encode(pixels("camera")[120:360, 100:420], 90, "4:4:4"),
    "odd-size-q80-420": lambda: encode(pixels("astronaut")[3:164, 5:222], 80, "4:2:0"),
}


@functools.cache
def search_image(name: str) -> bytes:
    return SEARCH_IMAGES[name]()


class CountingStore:
    """Wraps a store and records every byte range read, to prove prefix-only reads."""

    def __init__(self, inner):
        self.inner, self.ranges = inner, []

    def get_range(self, image_id, start, stop, stored_sha256=None):
        self.ranges.append((start, stop))
        return self.inner.get_range(image_id, start, stop, stored_sha256)

    def __getattr__(self, name):
        return getattr(self.inner, name)


# --- the quality contract, written out independently of pjstore.quality -----------------------

def open_image(data: bytes) -> Image.Image:
    """Pillow's open, given the whole file in one block: libjpeg's arithmetic decoder cannot wait
    for the next one (Pillow's default is 64 KiB at a time)."""
    image = Image.open(io.BytesIO(data))
    image.decodermaxblock = max(len(data), 1 << 16)
    return image


def contract_size(width: int, height: int, scale: float) -> tuple[int, int]:
    return max(1, round(width * scale)), max(1, round(height * scale))


def contract_psnr(source: bytes, candidate: bytes, scale: float) -> float:
    ref = open_image(source).convert("RGB")
    size = contract_size(ref.width, ref.height, scale)
    a = np.asarray(ref.resize(size, Image.LANCZOS), dtype=np.float64)
    b = np.asarray(open_image(candidate).convert("RGB").resize(size, Image.LANCZOS), dtype=np.float64)
    mse = np.mean((a - b) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def assert_lossless(source: bytes, stored: bytes) -> None:
    """The stored file holds the source's quantized coefficients and tables, and decodes the same."""
    from pjstore.encoder import coefficients

    a = coefficients.read(jpegtran(source, "-copy", "none"))
    b = coefficients.read(stored)
    assert len(a.components) == len(b.components)
    for x, y in zip(a.components, b.components, strict=True):
        assert np.array_equal(x.coefficients, y.coefficients)
        assert np.array_equal(x.quant, y.quant)
    assert np.array_equal(np.asarray(open_image(source).convert("RGB")),
                          np.asarray(open_image(stored).convert("RGB")))


def assert_offsets_meet_contract(source: bytes, stored: bytes, record, target) -> None:
    """Every offset is a scan-complete prefix meeting its threshold by real decode, and the
    shortest such (one scan less misses it)."""
    from pjstore.encoder.structure import parse

    cuts = parse(stored).scan_ends
    previous = 0
    for entry, threshold in zip(record.offsets.entries, target.thresholds, strict=False):  # not scale 1
        assert entry.offset in cuts, "offsets are scan-complete prefixes"
        assert entry.offset >= previous, "offsets never decrease with scale"
        got = contract_psnr(source, stored[: entry.offset] + EOI, entry.scale)
        assert got >= threshold
        assert got == pytest.approx(entry.score, abs=1e-3)
        i = cuts.index(entry.offset)
        if i > 0 and cuts[i - 1] >= previous:  # smallest: one scan less misses the target
            assert contract_psnr(source, stored[: cuts[i - 1]] + EOI, entry.scale) < threshold
        previous = entry.offset
    assert record.offsets.entries[-1].scale == 1.0
    assert record.offsets.entries[-1].offset == len(stored)


def assert_served_meets_contract(source: bytes, stored: bytes, record, target, egress: float = 1.25) -> None:
    """Each row's recipe, run on its prefix, serves a file meeting the threshold (graded by the
    independent oracle), of the recorded length, within `egress` times the independent floor."""
    from pjstore.encoder.structure import parse
    from pjstore.render.pipeline import make_rendition

    cuts = parse(stored).scan_ends
    previous = 0
    assert record.contract == "served"
    thresholds = (*target.thresholds, target.thresholds[-1])  # scale 1 at the last scale's threshold
    for entry, threshold in zip(record.offsets.entries, thresholds, strict=True):
        assert entry.offset in cuts or entry.offset == len(stored), "offsets are scan-complete prefixes"
        assert entry.offset >= previous, "offsets never decrease with scale"
        prefix = stored if entry.offset == len(stored) else stored[: entry.offset] + EOI
        data, _ = make_rendition(prefix, entry.recipe, (entry.width, entry.height), record.orientation)
        got = served_psnr(source, data, entry.scale)
        assert got >= threshold
        assert got == pytest.approx(entry.score, abs=1e-3)
        assert len(data) == entry.served_bytes
        if entry.offset == len(stored) and entry.scale == 1:
            # The floor is libjpeg-turbo's; a jpegli encoding of the same pixels is kept only if smaller.
            if entry.recipe.encoder == "libjpeg-turbo":
                assert len(data) == entry.floor_bytes, "the whole file at full size serves the floor itself"
            else:
                assert len(data) < entry.floor_bytes, "jpegli is chosen only where it serves fewer bytes"
        if entry.scale < 1 or entry.width * entry.height <= 1 << 20:  # finding a big floor again is costly
            floor = floor_bytes(source, entry.scale, threshold)
            assert entry.floor_bytes <= floor * 1.02 + 16, "the floor is the smallest passing JPEG"
            assert len(data) <= egress * floor * 1.02 + 16
        else:
            assert len(data) <= egress * entry.floor_bytes + 1
        previous = entry.offset
    assert record.offsets.entries[-1].scale == 1.0


def assert_provisional_meets_its_promise(source: bytes, stored: bytes, record) -> None:
    """Every row of a provisional record serves, from the whole stored file, a rendition meeting its
    threshold by the independent oracle, of the recorded length and score."""
    from pjstore.render.pipeline import make_rendition

    assert record.provisional and record.contract == "served"
    thresholds = (*record.thresholds, record.thresholds[-1])
    for entry, threshold in zip(record.offsets.entries, thresholds, strict=True):
        assert entry.offset == len(stored), "a provisional row reads the whole file"
        data, _ = make_rendition(stored, entry.recipe, (entry.width, entry.height), record.orientation)
        got = served_psnr(source, data, entry.scale)
        assert got >= threshold
        assert got == pytest.approx(entry.score, abs=1e-3)
        assert len(data) == entry.served_bytes


def assert_meets_its_contract(source: bytes, stored: bytes, record, target) -> None:
    """The record's promise, checked as it was made: what is served, or the decoded prefix."""
    if record.contract == "served":
        assert_served_meets_contract(source, stored, record, target)
    else:
        assert_offsets_meet_contract(source, stored, record, target)


def assert_served_jpeg(data: bytes, size: tuple[int, int]) -> Image.Image:
    """A baseline JPEG of exactly `size` carrying no EXIF or XMP (so no GPS and no orientation tag)."""
    from pjstore.encoder.structure import parse

    structure = parse(data)
    assert structure.frame.marker in (0xC0, 0xC1), "served images are baseline"
    assert not any(seg.marker == 0xE1 for seg in structure.segments), "no EXIF/XMP served"
    image = open_image(data)
    assert image.size == size
    assert image.mode in ("RGB", "L")
    assert not image.getexif()
    return image


def upright_size(record, entry) -> tuple[int, int]:
    return (entry.height, entry.width) if record.orientation >= 5 else (entry.width, entry.height)


# --- the CLI -------------------------------------------------------------------------------------

def cli(store: Path | str, *args: str) -> list[str]:
    """`pjstore --store STORE ingest ARGS...` as a subprocess command."""
    return [sys.executable, "-m", "pjstore.cli", "--store", str(store), "ingest", *args]


def cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def ingest_json(store: Path | str, *args: str, timeout: float = 300) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """Run `pjstore ingest ARGS... --json`; the process and its rows, one per input."""
    import json

    result = subprocess.run(cli(store, *args, "--json"), env=cli_env(), capture_output=True, text=True,
                            timeout=timeout)
    return result, [json.loads(line) for line in result.stdout.splitlines()]


def tally(rows: list[dict]) -> tuple[int, int, int]:
    """(stored, failed, already stored) counted from `ingest --json` rows."""
    failed = sum("error_type" in r for r in rows)
    stored = sum(r.get("created") is True for r in rows)
    return stored, failed, len(rows) - stored - failed


def write_corpus(d: Path, kinds: dict[str, bytes]) -> list[Path]:
    """Seven good files, a copy of one of them and a broken one."""
    d.mkdir(parents=True, exist_ok=True)
    for name in ("420_q75", "422_q90", "gray", "cmyk", "oriented_6", "icc", "tiny_7x5"):
        (d / f"{name}.jpg").write_bytes(kinds[name])
    (d / "same_as_420.jpg").write_bytes(kinds["420_q75"])  # identical bytes: prepared once
    (d / "broken.jpg").write_bytes(kinds["420_q75"][:3000])
    return sorted(d.iterdir())


def contents(store) -> dict[str, tuple]:
    """Everything a store holds: id -> (record, blob)."""
    return {i: (store.info(i), store.get_range(i, 0, store.info(i).stored_bytes)) for i in store.list()}


# --- the HTTP API --------------------------------------------------------------------------------

JPEG = {"Content-Type": "image/jpeg"}


def make_client(tmp_path, **settings):
    """A TestClient of the app over a store in `tmp_path`. Uploads are searched inside the request
    (refine_workers=0) unless a test asks otherwise, so what an upload answers is what stays stored;
    the provisional path has tests of its own (test_refine.py)."""
    from fastapi.testclient import TestClient

    from pjstore.server.app import create_app
    from pjstore.server.settings import ServerSettings

    return TestClient(create_app(ServerSettings(store=str(tmp_path / "store"), **{"refine_workers": 0, **settings})),
                      raise_server_exceptions=False)


def upload(c, data: bytes, **headers):
    return c.post("/v1/images", content=data, headers={**JPEG, **headers})


def stored_ids(c) -> list[str]:
    return c.get("/v1/images").json()["ids"]


def assert_error(response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error and body["detail"]
    assert "Traceback" not in response.text


def wide_icc(linear: bool = False) -> bytes:
    """An RGB profile that is not sRGB: sRGB's with its red and blue primaries swapped (and its
    name changed), so a conversion to sRGB visibly swaps the channels. `linear`: its tone curve
    made linear too (gamma 1), so the conversion is no longer a mere permutation of the channels."""
    icc = bytearray(srgb_icc())
    count = int.from_bytes(icc[128:132], "big")
    tags = {bytes(icc[132 + 12 * i:136 + 12 * i]): 132 + 12 * i for i in range(count)}
    r, b = tags[b"rXYZ"] + 4, tags[b"bXYZ"] + 4
    icc[r:r + 8], icc[b:b + 8] = icc[b:b + 8], icc[r:r + 8]
    if linear:  # the TRCs share one 'para' curve: function type 0, gamma 1.0 (s15Fixed16)
        trc = int.from_bytes(icc[tags[b"rTRC"] + 4:tags[b"rTRC"] + 8], "big")
        icc[trc + 8:trc + 16] = b"\x00\x00\x00\x00\x00\x01\x00\x00"
    return _renamed(icc, "swap")


def near_srgb_icc() -> bytes:
    """sRGB under another name, as Facebook's 524-byte "c2" is: its red primary nudged by 24/65536,
    so converting to sRGB moves ~1% of colours by one level and none by more."""
    icc = bytearray(srgb_icc())
    count = int.from_bytes(icc[128:132], "big")
    tags = {bytes(icc[132 + 12 * i:136 + 12 * i]): 132 + 12 * i for i in range(count)}
    x = int.from_bytes(icc[tags[b"rXYZ"] + 4:tags[b"rXYZ"] + 8], "big") + 8  # the tag's X value
    icc[x:x + 4] = (int.from_bytes(icc[x:x + 4], "big", signed=True) + 24).to_bytes(4, "big", signed=True)
    return _renamed(icc, "c2  ")


def _renamed(icc: bytearray, name: str) -> bytes:
    """`icc` (sRGB's tags) with "sRGB" in its description replaced by the 4 characters of `name`."""
    old = "sRGB".encode("utf-16-be")
    at = icc.index(old)
    icc[at:at + len(old)] = name.encode("utf-16-be")
    return bytes(icc)




# --- the served contract, written out independently of pjstore --------------------------------

_UPRIGHT = {2: [Image.Transpose.FLIP_LEFT_RIGHT], 3: [Image.Transpose.ROTATE_180],
            4: [Image.Transpose.FLIP_TOP_BOTTOM], 5: [Image.Transpose.TRANSPOSE],
            6: [Image.Transpose.ROTATE_270], 7: [Image.Transpose.TRANSVERSE], 8: [Image.Transpose.ROTATE_90]}


def served_reference(source: bytes, size: tuple[int, int]) -> np.ndarray:
    """What a served rendition of `size` (stored axes) is graded against: the source in sRGB (its
    profile applied unless it is an sRGB one: named so, or applying it moves none of the source's
    own colours by more than a level), resized LANCZOS, then turned upright by its EXIF."""
    from PIL import ImageCms

    im = open_image(source)
    im.load()
    icc = im.info.get("icc_profile")
    orientation = im.getexif().get(0x0112, 1)
    converted = None
    if icc and icc[16:20] in (b"RGB ", b"CMYK"):
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" not in ImageCms.getProfileDescription(profile).lower().replace(" ", ""):
            converted = ImageCms.profileToProfile(im, profile, ImageCms.createProfile("sRGB"), outputMode="RGB")
            raw = np.asarray(im.convert("RGB"), dtype=np.int16)
            if converted is not None and np.abs(np.asarray(converted, dtype=np.int16) - raw).max() <= 1:
                converted = None
    rgb = (converted or im).convert("RGB").resize(size, Image.LANCZOS)
    for op in _UPRIGHT.get(orientation, []):
        rgb = rgb.transpose(op)
    return np.asarray(rgb, dtype=np.float64)


def served_psnr(source: bytes, served: bytes, scale: float, fmt: str = "JPEG") -> float:
    """PSNR of a served rendition (a baseline JPEG unless `fmt` is "WEBP" or "AVIF") for a stored
    `scale`; asserts its format and exact upright size."""
    w, h = open_image(source).size
    ref = served_reference(source, (max(1, round(w * scale)), max(1, round(h * scale))))
    got = open_image(served)
    assert got.size == (ref.shape[1], ref.shape[0]), "served at the exact contract size, upright"
    assert got.format == fmt, f"served as {got.format}, not {fmt}"
    assert fmt != "JPEG" or not got.info.get("progressive"), "a baseline JPEG"
    b = np.asarray(got.convert("RGB"), dtype=np.float64)
    mse = np.mean((ref - b) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def floor_bytes(source: bytes, scale: float, threshold: float) -> int:
    """The smallest baseline JPEG (Pillow, optimized Huffman, 4:4:4 or 4:2:0) of the reference
    meeting `threshold`: what the egress policy's floor is (bisection over quality)."""
    w, h = open_image(source).size
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    ref = served_reference(source, size)
    grey = open_image(source).mode == "L"
    pixels = Image.fromarray(ref.astype(np.uint8))
    if grey:
        pixels = pixels.convert("L")
    best = None
    def passing(q: int, subsampling: str) -> int | None:
        out = io.BytesIO()
        pixels.save(out, "JPEG", quality=q, optimize=True, **({} if grey else {"subsampling": subsampling}))
        b = np.asarray(Image.open(io.BytesIO(out.getvalue())).convert("RGB"), dtype=np.float64)
        mse = np.mean((ref - b) ** 2)
        return out.tell() if mse == 0 or 10 * math.log10(255**2 / mse) >= threshold else None

    for subsampling in ["4:2:0"] if grey else ["4:4:4", "4:2:0"]:
        if passing(100, subsampling) is None:
            continue
        lo, hi = 1, 100
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if passing(mid, subsampling) is not None else (mid + 1, hi)
        size_at = passing(hi, subsampling)
        best = size_at if best is None else min(best, size_at)
    return best
