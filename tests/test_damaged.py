"""`--accept-damaged`: JPEGs libjpeg decodes only with warnings are refused by default and, when
opted in, stored as uploaded, flagged, and served from the whole file meeting the contract against
their own decode. Every damaged file is built here from a Pillow JPEG's bytes."""

from __future__ import annotations

import dataclasses
import io
import json
import random
import resource

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from PIL import Image, ImageFile

from pjstore.cli import main
from pjstore.errors import CorruptJpeg, NotAJpeg, TooLarge, TruncatedJpeg
from pjstore.fsck import fsck
from pjstore.ingest import IngestOptions, ingest, prepare
from pjstore.read_path.serve import render
from pjstore.record import ImageRecord
from pjstore.samples import encode
from pjstore.server.app import create_app
from pjstore.server.settings import ServerSettings
from pjstore.storage import LmdbStorage

from helpers import crop, exif_orientation, served_psnr, srgb_icc

ACCEPT = IngestOptions(accept_damaged=True)


def _entropy(jpeg: bytes) -> tuple[int, int]:
    """Where the first scan's entropy-coded data starts and ends, found from the raw bytes."""
    sos = jpeg.index(b"\xff\xda")
    start = sos + 2 + int.from_bytes(jpeg[sos + 2:sos + 4], "big")
    end = start
    while not (jpeg[end] == 0xFF and jpeg[end + 1] not in (0x00, *range(0xD0, 0xD8))):
        end += 1
    return start, end


def flipped(jpeg: bytes, flips: int = 20, seed: int = 1) -> bytes:
    """Single bits flipped in the entropy data, never making or unmaking an 0xFF (so no marker)."""
    start, end = _entropy(jpeg)
    data, rng = bytearray(jpeg), random.Random(seed)
    for i in rng.sample(range(start, end), flips):
        if data[i] != 0xFF and data[i - 1] != 0xFF:
            value = data[i] ^ (1 << rng.randrange(8))
            data[i] = data[i] if value == 0xFF else value
    return bytes(data)


def truncated(jpeg: bytes) -> bytes:
    """Cut halfway through the scan: no EOI."""
    start, end = _entropy(jpeg)
    return jpeg[:(start + end) // 2]


def garbage_after_sos(jpeg: bytes) -> bytes:
    """Bytes inserted right after the scan header (extraneous data libjpeg skips with a warning)."""
    start, _ = _entropy(jpeg)
    return jpeg[:start] + b"\xff\x00\xff\x00\x12" + jpeg[start:]


SOURCES = {
    "colour": lambda: encode(crop("astronaut", 240, 200), 85, "4:2:0"),
    "grey": lambda: encode(crop("camera", 200, 150), 85),
}
DAMAGE = {
    "flipped": (flipped, CorruptJpeg),
    "truncated": (truncated, TruncatedJpeg),
    "garbage_after_sos": (garbage_after_sos, CorruptJpeg),
}
CASES = [(d, s) for d in DAMAGE for s in SOURCES]


def damaged(damage: str, source: str) -> bytes:
    return DAMAGE[damage][0](SOURCES[source]())


@pytest.mark.parametrize("damage,source", CASES)
def test_refused_by_default_with_the_typed_error(store, damage, source):
    data = damaged(damage, source)
    with pytest.raises(DAMAGE[damage][1]):
        ingest(store, data)
    assert store.list() == [], "nothing partial is stored"


@pytest.mark.parametrize("damage,source", CASES)
def test_accepted_stored_as_uploaded_and_served(store, monkeypatch, damage, source):
    data = damaged(damage, source)
    record, created = ingest(store, data, ACCEPT)
    assert created and record.damaged and record.scheme == "as-uploaded"
    assert record.warnings and record.warnings[0].startswith("damaged")
    assert store.get_range(record.id, 0, record.stored_bytes) == data, "stored as it was uploaded"
    assert all(e.offset == len(data) for e in record.offsets.entries), "every scale reads the whole file"
    assert store.info(record.id) == record
    # The oracle decodes the damaged upload itself, as a viewer does (Pillow's own truncation handling).
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    for entry, threshold in zip(record.offsets.entries, (*record.thresholds, record.thresholds[-1]), strict=True):
        served = render(store, record.id, scale=entry.scale)
        assert (served.width, served.height) == (entry.width, entry.height)
        assert served.bytes_read == len(data)
        assert served_psnr(data, served.data, entry.scale) >= threshold
    assert fsck(store).problems == ()


def test_fsck_reports_a_changed_file_and_repairs_bad_recipes(store):
    changed = prepare(damaged("truncated", "colour"), ACCEPT)
    store.put(changed.record, changed.blob[:-10] + bytes(10))
    bad = prepare(damaged("flipped", "grey"), ACCEPT)
    rows = tuple(dataclasses.replace(e, recipe=dataclasses.replace(e.recipe, quality=1))
                 for e in bad.record.offsets.entries)
    store.put(dataclasses.replace(bad.record, offsets=dataclasses.replace(bad.record.offsets, entries=rows)), bad.blob)
    report = fsck(store, repair=True)
    assert sorted((p.image_id, p.kind, p.repaired) for p in report.problems) == sorted(
        [(changed.record.id, "corrupt", False), (bad.record.id, "bad-offsets", True)])
    assert store.info(bad.record.id) == bad.record, "re-measured as at ingest"


@pytest.mark.parametrize("data,error", [
    (b"\x89PNG\r\n\x1a\n" + bytes(100), NotAJpeg),
    # An invalid marker inside the scan: Pillow cannot decode it at all.
    (lambda j: j[:_entropy(j)[0]] + b"\xff\x55garbage" + j[_entropy(j)[0]:], CorruptJpeg),
    # Truncated inside the frame header: nothing to decode.
    (lambda j: j[:j.index(b"\xff\xc0") + 6], TruncatedJpeg),
], ids=["png", "undecodable", "header_truncated"])
def test_still_refused_with_the_option(store, data, error):
    data = data(SOURCES["colour"]()) if callable(data) else data
    with pytest.raises(error):
        ingest(store, data, ACCEPT)
    assert store.list() == []


def test_limits_still_hold(store):
    data = damaged("truncated", "colour")
    with pytest.raises(TooLarge):
        prepare(data, IngestOptions(accept_damaged=True, max_pixels=1000))
    many_scans = data + (b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\x00" * 8) * 200
    before = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    with pytest.raises(TooLarge, match="scan"):  # the strict parse or the damaged path: either cap
        prepare(many_scans, ACCEPT)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_utime - before < 0.5
    assert store.list() == []


def test_records_without_the_field_read_as_undamaged():
    record = prepare(SOURCES["grey"](), IngestOptions(scheme="progressive")).record
    stored = json.loads(record.dumps())  # as version 2 wrote it before the field (nor v3's) existed
    del stored["damaged"], stored["entropy"], stored["egress"], stored["recipe_search"]
    stored["v"] = 2
    read = ImageRecord.loads(json.dumps(stored).encode())
    assert read == dataclasses.replace(record, egress=None, recipe_search=1) and not read.damaged


def test_prefix_contract_cannot_accept_damaged():
    with pytest.raises(ValueError, match="served contract"):
        IngestOptions(accept_damaged=True, contract="prefix")


def test_cli_ingest_option_and_info(tmp_path):
    path = tmp_path / "damaged.jpg"
    path.write_bytes(damaged("truncated", "colour"))

    def run(*args):
        return CliRunner().invoke(main, ["--store", str(tmp_path / "store"), *args])

    refused = run("ingest", str(path), "--json", "--workers", "1")
    assert refused.exit_code == 1 and json.loads(refused.output)["error_type"] == "TruncatedJpeg"
    accepted = run("ingest", str(path), "--json", "--workers", "1", "--accept-damaged")
    assert accepted.exit_code == 0, accepted.output
    info = json.loads(run("info", json.loads(accepted.output)["id"]).output)
    assert info["damaged"] is True and info["scheme"] == "as-uploaded" and info["warnings"]
    out = tmp_path / "small.jpg"
    assert run("get", info["id"], "--scale", "0.1", "-o", str(out)).exit_code == 0
    assert Image.open(io.BytesIO(out.read_bytes())).size == (24, 20)


def test_handed_out_without_private_metadata(tmp_path, monkeypatch):
    """`/original` and `export` of a damaged upload carry what a transcode keeps (orientation, ICC),
    never its GPS; the entropy data is the upload's, byte for byte."""
    source = encode(crop("astronaut", 240, 200), 85, "4:2:0", exif=exif_orientation(6), icc_profile=srgb_icc())
    data = truncated(source)
    store_path = tmp_path / "store"
    with LmdbStorage(store_path) as store:
        record, _ = ingest(store, data, ACCEPT)
    with TestClient(create_app(ServerSettings(store=str(store_path)))) as c:
        sent = c.get(f"/v1/images/{record.id}/original").content
        part = c.get(f"/v1/images/{record.id}/original", headers={"Range": "bytes=0-99"})
    out = tmp_path / "exported.jpg"
    assert CliRunner().invoke(main, ["--store", str(store_path), "export", record.id, "-o", str(out)]).exit_code == 0
    assert out.read_bytes() == sent and part.content == sent[:100]
    assert 0x8825 in Image.open(io.BytesIO(data)).getexif(), "the upload carries GPS"
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    image = Image.open(io.BytesIO(sent))
    assert dict(image.getexif()) == {0x0112: 6} and image.info["icc_profile"] == srgb_icc()
    assert sent[sent.index(b"\xff\xda"):] == data[data.index(b"\xff\xda"):], "the entropy data as uploaded"
    assert np.array_equal(np.asarray(image.convert("RGB")), np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
