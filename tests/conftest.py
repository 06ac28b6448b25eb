"""Shared fixtures: generated JPEGs of every kind, a fresh store, and an independent
implementation of the quality contract (tests must not grade pjstore with its own code)."""

from __future__ import annotations

import io
import math
import os
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pjstore.samples import encode, pixels
from pjstore.storage import LmdbStorage, open_storage

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
EDGE = SHARED / "corpus" / "edge"
PHOTOS = SHARED / "corpus" / "photos"
needs_shared = pytest.mark.skipif(not EDGE.is_dir(), reason="../shared corpus not present")


def crop(name: str, w: int, h: int) -> np.ndarray:
    return pixels(name)[:h, :w]


def exif_orientation(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS latitude: must never be served
    return exif.tobytes()


def jpegtran(data: bytes, *args: str) -> bytes:
    return subprocess.run(["jpegtran", *args], input=data, capture_output=True, check=True).stdout


def _cmyk() -> bytes:
    out = io.BytesIO()
    Image.fromarray(crop("coffee", 160, 120)).convert("CMYK").save(out, "JPEG", quality=90)
    return out.getvalue()


def _gray() -> bytes:
    return encode(crop("camera", 200, 150), 85)


# name -> bytes; each a kind of JPEG real uploads come as.
KINDS = {
    "420_q75": lambda: encode(crop("astronaut", 240, 200), 75, "4:2:0"),
    "422_q90": lambda: encode(crop("coffee", 250, 170), 90, "4:2:2"),
    "444_q95": lambda: encode(crop("chelsea", 203, 157), 95, "4:4:4"),
    "gray": _gray,
    "cmyk": _cmyk,
    "progressive_source": lambda: encode(crop("rocket", 220, 180), 85, "4:2:0", progressive=True),
    "arithmetic": lambda: jpegtran(encode(crop("chelsea", 180, 140), 80), "-arithmetic"),
    "restart_markers": lambda: encode(crop("astronaut", 190, 130), 85, "4:2:0", restart_marker_blocks=1),
    "tiny_1x1": lambda: encode(crop("coffee", 1, 1), 90),
    "tiny_7x5": lambda: encode(crop("coffee", 7, 5), 90),
    "extreme_1000x3": lambda: encode(crop("hubble_deep_field", 1000, 3), 90),
    "oriented_6": lambda: encode(crop("chelsea", 240, 160), 85, "4:2:0", exif=exif_orientation(6)),
    "icc": lambda: encode(crop("coffee", 200, 120), 85, "4:2:0",
                          icc_profile=Image.open(io.BytesIO(encode(crop("coffee", 8, 8)))).info.get("icc_profile")
                          or _srgb_icc()),
}


def _srgb_icc() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.fixture(scope="session")
def kinds() -> dict[str, bytes]:
    return {name: make() for name, make in KINDS.items()}


@pytest.fixture
def store(tmp_path):
    with LmdbStorage(tmp_path / "store") as s:
        yield s


@pytest.fixture(scope="session")
def s3_server():
    from s3_server import LoopbackS3

    server = LoopbackS3()
    yield server
    server.close()


@pytest.fixture
def s3_location(s3_server, monkeypatch) -> str:
    """A fresh bucket on the loopback S3 server, reachable through the usual AWS settings (which
    subprocesses inherit); returns its `s3://BUCKET/PREFIX` location."""
    import boto3

    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    bucket = f"pjstore-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    return f"s3://{bucket}/images"


@pytest.fixture(params=["lmdb", "s3"])
def any_store(request, tmp_path):
    """The same store contract on every backend."""
    location = str(tmp_path / "store") if request.param == "lmdb" else request.getfixturevalue("s3_location")
    with open_storage(location) as s:
        yield s


class CountingStore:
    """Wraps a store and records every byte range read, to prove prefix-only reads."""

    def __init__(self, inner):
        self.inner, self.ranges = inner, []

    def get_range(self, image_id, start, stop):
        self.ranges.append((start, stop))
        return self.inner.get_range(image_id, start, stop)

    def __getattr__(self, name):
        return getattr(self.inner, name)


# --- the quality contract, written out independently of pjstore.quality -----------------------

def contract_psnr(source: bytes, candidate: bytes, scale: float) -> float:
    ref = Image.open(io.BytesIO(source)).convert("RGB")
    size = (max(1, round(ref.width * scale)), max(1, round(ref.height * scale)))
    a = np.asarray(ref.resize(size, Image.LANCZOS), dtype=np.float64)
    b = np.asarray(Image.open(io.BytesIO(candidate)).convert("RGB").resize(size, Image.LANCZOS), dtype=np.float64)
    mse = np.mean((a - b) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def wide_icc() -> bytes:
    """An RGB profile that is not sRGB: sRGB's with its red and blue primaries swapped (and its
    name changed), so a conversion to sRGB visibly swaps the channels."""
    icc = bytearray(_srgb_icc())
    count = int.from_bytes(icc[128:132], "big")
    tags = {bytes(icc[132 + 12 * i:136 + 12 * i]): 132 + 12 * i for i in range(count)}
    r, b = tags[b"rXYZ"] + 4, tags[b"bXYZ"] + 4
    icc[r:r + 8], icc[b:b + 8] = icc[b:b + 8], icc[r:r + 8]
    name = "sRGB".encode("utf-16-be")
    at = icc.index(name)
    icc[at:at + len(name)] = "swap".encode("utf-16-be")
    return bytes(icc)


KINDS["wide_icc"] = lambda: encode(crop("coffee", 200, 120), 90, "4:4:4", icc_profile=wide_icc())
KINDS["oriented_8_odd"] = lambda: encode(crop("astronaut", 203, 117), 90, "4:2:0", exif=exif_orientation(8))


# --- the served contract, written out independently of pjstore --------------------------------

_UPRIGHT = {2: [Image.Transpose.FLIP_LEFT_RIGHT], 3: [Image.Transpose.ROTATE_180],
            4: [Image.Transpose.FLIP_TOP_BOTTOM], 5: [Image.Transpose.TRANSPOSE],
            6: [Image.Transpose.ROTATE_270], 7: [Image.Transpose.TRANSVERSE], 8: [Image.Transpose.ROTATE_90]}


def served_reference(source: bytes, size: tuple[int, int]) -> np.ndarray:
    """What a served rendition of `size` (stored axes) is graded against: the source in sRGB (its
    profile applied unless it is an sRGB one), resized LANCZOS, then turned upright by its EXIF."""
    from PIL import ImageCms

    im = Image.open(io.BytesIO(source))
    im.load()
    icc = im.info.get("icc_profile")
    orientation = im.getexif().get(0x0112, 1)
    converted = None
    if icc and icc[16:20] in (b"RGB ", b"CMYK"):
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" not in ImageCms.getProfileDescription(profile).lower().replace(" ", ""):
            converted = ImageCms.profileToProfile(im, profile, ImageCms.createProfile("sRGB"), outputMode="RGB")
    rgb = (converted or im).convert("RGB").resize(size, Image.LANCZOS)
    for op in _UPRIGHT.get(orientation, []):
        rgb = rgb.transpose(op)
    return np.asarray(rgb, dtype=np.float64)


def served_psnr(source: bytes, served: bytes, scale: float, fmt: str = "JPEG") -> float:
    """PSNR of a served rendition (a baseline JPEG unless `fmt` is "WEBP" or "AVIF") for a stored
    `scale`; asserts its format and exact upright size."""
    w, h = Image.open(io.BytesIO(source)).size
    ref = served_reference(source, (max(1, round(w * scale)), max(1, round(h * scale))))
    got = Image.open(io.BytesIO(served))
    assert got.size == (ref.shape[1], ref.shape[0]), "served at the exact contract size, upright"
    assert got.format == fmt, f"served as {got.format}, not {fmt}"
    assert fmt != "JPEG" or not got.info.get("progressive"), "a baseline JPEG"
    b = np.asarray(got.convert("RGB"), dtype=np.float64)
    mse = np.mean((ref - b) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def floor_bytes(source: bytes, scale: float, threshold: float) -> int:
    """The smallest baseline JPEG (Pillow, optimized Huffman, 4:4:4 or 4:2:0) of the reference
    meeting `threshold`: what the egress policy's floor is (bisection over quality)."""
    w, h = Image.open(io.BytesIO(source)).size
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    ref = served_reference(source, size)
    grey = Image.open(io.BytesIO(source)).mode == "L"
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
