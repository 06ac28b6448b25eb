"""Every file of ../shared/corpus/edge behaves as its MANIFEST says (skipped without ../shared)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from pjstore.errors import CorruptJpeg, EmptyInput, NotAJpeg, TooLarge, TruncatedJpeg
from pjstore.ingest import ingest, prepare
from pjstore.read_path.pipeline import render

from conftest import EDGE, needs_shared, served_psnr
from test_ingest import assert_lossless, assert_served_meets_contract
from test_read_path import served_kind

pytestmark = [needs_shared, pytest.mark.corpus]

ACCEPT = [
    "already_progressive", "arithmetic_coded", "camera_canon40d", "cmyk", "exif_orientation_landscape_1",
    "exif_orientation_landscape_3", "exif_orientation_landscape_6", "exif_orientation_landscape_8",
    "exif_orientation_portrait_5", "extreme_aspect_1001x3", "gps_exif", "grayscale", "icc_srgb",
    "quality_100", "quality_30", "restart_markers", "sequential_noninterleaved", "subsampling_444",
    "subsampling_422", "tiny_1x1", "tiny_7x5", "xmp_bluesquare", "phone_3264x2448",
]
REJECT = {
    "bomb_header_60000x60000": TooLarge, "corrupt_entropy_data": CorruptJpeg, "empty": EmptyInput,
    "png_named_jpg": NotAJpeg, "text_named_jpg": NotAJpeg, "truncated_60pct": TruncatedJpeg,
}


def read(name: str) -> bytes:
    return (EDGE / f"{name}.jpg").read_bytes()


@pytest.mark.parametrize("name", ACCEPT)
def test_accepted(store, name):
    source = read(name)
    prepared = prepare(source)
    assert_lossless(source, prepared.blob)
    assert_served_meets_contract(source, prepared.blob, prepared.record, prepared_target())
    store.put(prepared.record, prepared.blob)
    for entry in prepared.record.offsets.entries:
        r = render(store, prepared.record.id, scale=entry.scale)
        size = (entry.height, entry.width) if prepared.record.orientation >= 5 else (entry.width, entry.height)
        assert Image.open(io.BytesIO(r.data)).size == size
        assert served_kind(r.data) == "baseline"


def prepared_target():
    from pjstore.ingest import IngestOptions

    return IngestOptions().target


@pytest.mark.parametrize("name, error", sorted(REJECT.items()))
def test_rejected_and_nothing_written(store, name, error):
    with pytest.raises(error) as info:
        ingest(store, read(name))
    assert str(info.value)
    assert store.list() == []


def test_extreme_aspect_sizes_never_below_one(store):
    record, _ = ingest(store, read("extreme_aspect_1001x3"))
    assert (record.offsets.entry(0.1).width, record.offsets.entry(0.1).height) == (100, 1)


@pytest.mark.parametrize("name", [n for n in ACCEPT if n.startswith("exif_orientation")])
def test_orientations_are_served_upright(store, name):
    """Graded against the source resized and turned upright by the oracle: a wrong orientation
    would score ~10 dB, not the contract's 32."""
    source = read(name)
    record, _ = ingest(store, source)
    data = render(store, record.id, scale=0.25).data
    assert served_psnr(source, data, 0.25) >= 32
    served = Image.open(io.BytesIO(data))
    landscape = name.startswith("exif_orientation_landscape")
    assert (served.width > served.height) == landscape


def test_gps_never_served(store):
    record, _ = ingest(store, read("gps_exif"))
    for scale in record.offsets.scales:
        data = render(store, record.id, scale=scale).data
        assert b"GPS" not in data and not Image.open(io.BytesIO(data)).getexif()
