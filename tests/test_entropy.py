"""`--entropy arithmetic`: the stored file is arithmetic-coded, holds the source's coefficients,
reads fewer bytes than the Huffman store at every scale for the same renditions, and is handed out
(/original, export) as the Huffman file a default store would hold."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from pjstore.encoder.structure import parse
from pjstore.fsck import fsck
from pjstore.ingest import IngestOptions, ingest, prepare
from pjstore.record import ImageRecord
from pjstore.samples import encode, pixels
from pjstore.server.app import create_app
from pjstore.server.settings import ServerSettings, SettingsError
from pjstore.storage import LmdbStorage

from edge_cases import CASES
from helpers import assert_lossless, assert_served_meets_contract, cli_env, jpegtran, open_image, upload

SOF2, SOF10 = 0xC2, 0xCA  # progressive Huffman, progressive arithmetic


def pjstore(store, *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "pjstore", "--store", str(store), *args], env=cli_env(),
                          capture_output=True, text=True, check=True).stdout


def client(store, **settings) -> TestClient:
    return TestClient(create_app(ServerSettings(store=str(store), **settings)))


@pytest.fixture(scope="module")
def photo() -> bytes:
    data = encode(pixels("astronaut"), 92, "4:2:0")
    assert len(data) > 1 << 16, "bigger than Pillow's 64 KiB block, where arithmetic decoding needs care"
    return data


@pytest.fixture(scope="module")
def stores(tmp_path_factory, photo):
    """The photo in a Huffman store and in an arithmetic store: (path, record, blob) each."""
    out = {}
    for entropy in ("huffman", "arithmetic"):
        path = tmp_path_factory.mktemp(entropy) / "store"
        with LmdbStorage(path) as store:
            record, _ = ingest(store, photo, IngestOptions(entropy=entropy))
            out[entropy] = path, record, store.get_range(record.id, 0, record.stored_bytes)
    return out


def test_arithmetic_store_is_lossless_and_serves_what_it_promises(stores, photo):
    _, record, blob = stores["arithmetic"]
    assert parse(blob).frame.marker == SOF10 and record.entropy == "arithmetic"
    assert_lossless(photo, blob)
    assert_served_meets_contract(photo, blob, record, record.target)
    assert ImageRecord.loads(record.dumps()) == record
    assert record.to_json()["entropy"] == "arithmetic"


def test_arithmetic_reads_less_at_every_scale_for_the_same_renditions(stores):
    _, huff, huff_blob = stores["huffman"]
    _, arith, arith_blob = stores["arithmetic"]
    assert arith.stored_bytes < huff.stored_bytes
    assert arith.scans == huff.scans
    huff_cuts, arith_cuts = parse(huff_blob).scan_ends, parse(arith_blob).scan_ends
    for h, a in zip(huff.offsets.entries, arith.offsets.entries, strict=True):
        assert a.offset < h.offset
        # cut after the same scan, the prefixes decode alike: the same recipe serves the same file
        if a.scale < 1:
            assert arith_cuts.index(a.offset) == huff_cuts.index(h.offset)
        assert (a.recipe, a.served_bytes, a.score) == (h.recipe, h.served_bytes, h.score)


def test_original_and_export_hand_out_the_huffman_file(stores, tmp_path):
    path, record, _ = stores["arithmetic"]
    _, _, huffman_blob = stores["huffman"]
    with client(path) as c:
        whole = c.get(f"/v1/images/{record.id}/original")
        assert whole.status_code == 200 and whole.content == huffman_blob
        assert parse(whole.content).frame.marker == SOF2
        assert int(whole.headers["X-Pjstore-Bytes-Read"]) == record.stored_bytes
        part = c.get(f"/v1/images/{record.id}/original", headers={"Range": "bytes=0-999"})
        assert part.status_code == 206 and part.content == huffman_blob[:1000]
        assert part.headers["Content-Range"] == f"bytes 0-999/{len(huffman_blob)}"
        for row in c.get(f"/v1/images/{record.id}/info").json()["scales"]:
            assert open_image(c.get(row["url"]).content).size == (row["width"], row["height"])
    out = tmp_path / "exported.jpg"
    pjstore(path, "export", record.id[:12], "-o", str(out))
    assert out.read_bytes() == huffman_blob


@pytest.mark.parametrize("case", ["grayscale", "cmyk", "ycck", "rgb_no_colour_transform", "subsampling_411",
                                  "chroma_sampled_finer_than_luma", "quality_100", "restart_every_mcu",
                                  "tiny_1x1", "orientation_6", "icc_in_three_segments"])
def test_every_kind_of_jpeg_stores_arithmetic_coded_alike(case):
    """The arithmetic file holds the source's coefficients, recodes to the Huffman store's file byte
    for byte, and serves the same renditions from no longer prefixes."""
    from pjstore.encoder.transcode import recoded
    from tools.jpegtran_wrapper import Jpegtran

    source = CASES[case].make()
    huffman, arithmetic = (prepare(source, IngestOptions(entropy=e)) for e in ("huffman", "arithmetic"))
    assert parse(arithmetic.blob).frame.arithmetic and not parse(huffman.blob).frame.arithmetic
    assert_lossless(source, arithmetic.blob)
    assert recoded(arithmetic.blob, "huffman", Jpegtran.find()).data == huffman.blob
    for h, a in zip(huffman.record.offsets.entries, arithmetic.record.offsets.entries, strict=True):
        assert a.offset <= h.offset
        assert (a.recipe, a.served_bytes, a.score) == (h.recipe, h.served_bytes, h.score)


def test_fsck_verifies_an_arithmetic_store(stores):
    path, _, _ = stores["arithmetic"]
    with LmdbStorage(path, readonly=True) as store:
        assert fsck(store).clean


def test_an_arithmetic_coded_upload_is_stored(photo, store):
    """Sources may be arithmetic-coded: their pixels decode past Pillow's first block too."""
    source = jpegtran(photo, "-arithmetic")
    assert parse(source).frame.arithmetic and len(source) > 1 << 16
    for entropy, marker in (("huffman", SOF2), ("arithmetic", SOF10)):
        record, _ = ingest(store, source, IngestOptions(entropy=entropy, contract="prefix"))
        blob = store.get_range(record.id, 0, record.stored_bytes)
        assert parse(blob).frame.marker == marker
        assert_lossless(source, blob)
        store.delete(record.id)


def test_cli_and_server_take_the_option(tmp_path, photo):
    src = tmp_path / "photo.jpg"
    src.write_bytes(photo)
    row = json.loads(pjstore(tmp_path / "cli", "ingest", "--json", "--entropy", "arithmetic", "--contract", "prefix",
                             str(src)).splitlines()[-1])
    assert json.loads(pjstore(tmp_path / "cli", "info", row["id"]))["entropy"] == "arithmetic"
    assert ServerSettings.from_env({"PJSTORE_ENTROPY": "Arithmetic"}).ingest_options.entropy == "arithmetic"
    with pytest.raises(SettingsError, match="entropy"):
        ServerSettings.from_env({"PJSTORE_ENTROPY": "lzw"})
    with client(tmp_path / "http", entropy="arithmetic") as c:
        doc = upload(c, photo).json()
        assert doc["entropy"] == "arithmetic"
        assert parse(c.get(f"/v1/images/{doc['id']}/original").content).frame.marker == SOF2


def test_records_before_version_3_are_huffman(stores):
    _, record, _ = stores["huffman"]
    old = json.loads(record.dumps())
    del old["entropy"], old["egress"], old["recipe_search"]
    old["v"] = 2
    assert ImageRecord.loads(json.dumps(old).encode()) == ImageRecord(**{**record.__dict__, "egress": None,
                                                                          "recipe_search": 1})
    for bad in ({"entropy": "lzw"}, {"egress": 0.5}, {"egress": float("nan")}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            ImageRecord(**{**record.__dict__, **bad})
