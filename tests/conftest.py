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
