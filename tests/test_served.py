"""What users receive: every rendition the CLI and the HTTP server return, decoded, meets the
threshold against the independent oracle (conftest.served_psnr), at the exact size, within the
egress policy of an independently computed floor; and a store written by 0.1.0 is served as it
was, then upgraded in place."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from pjstore.errors import CorruptRecord
from pjstore.ingest import IngestOptions, ingest
from pjstore.migrate import migrate
from pjstore.record import ImageRecord
from pjstore.server.app import create_app
from pjstore.server.settings import ServerSettings
from pjstore.storage import LmdbStorage, open_storage

from helpers import floor_bytes, served_psnr

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "store_v1"
SERVED_KINDS = ["420_q75", "444_q95", "gray", "cmyk", "wide_icc", "linear_icc", "oriented_6", "oriented_8_odd",
                "tiny_7x5", "extreme_1000x3"]


def pjstore(store: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "pjstore", "--store", str(store), *args],
                          capture_output=True, env=env, check=True)


def assert_meets(source: bytes, data: bytes, row: dict, threshold: float, egress: float = 1.25) -> None:
    assert served_psnr(source, data, row["scale"]) >= threshold
    assert len(data) == row["served_bytes"], "the record promises what is sent, byte for byte"
    assert len(data) <= egress * floor_bytes(source, row["scale"], threshold) * 1.02 + 16


@pytest.fixture(scope="module")
def served_store(tmp_path_factory, kinds):
    path = tmp_path_factory.mktemp("served") / "store"
    with LmdbStorage(path) as store:
        records = {k: ingest(store, kinds[k])[0] for k in SERVED_KINDS}
    return path, records


def test_http_renditions_meet_the_target(served_store, kinds):
    path, records = served_store
    with TestClient(create_app(ServerSettings(store=str(path)))) as c:
        for kind, record in records.items():
            doc = c.get(f"/v1/images/{record.id}/info").json()
            assert doc["contract"] == "served"
            thresholds = [*doc["thresholds"], doc["thresholds"][-1]]
            for row, threshold in zip(doc["scales"], thresholds, strict=True):
                r = c.get(row["url"])
                assert r.status_code == 200, kind
                assert int(r.headers["X-Pjstore-Bytes-Read"]) == row["offset"]
                assert int(r.headers["Content-Length"]) == row["served_bytes"]
                assert_meets(kinds[kind], r.content, row, threshold)


@pytest.mark.parametrize("kind", ["420_q75", "cmyk", "oriented_8_odd", "linear_icc"])
def test_cli_get_renditions_meet_the_target(served_store, kinds, kind, tmp_path):
    path, records = served_store
    doc = json.loads(pjstore(path, "info", records[kind].id).stdout)
    for row, threshold in zip(doc["scales"], [*doc["thresholds"], doc["thresholds"][-1]], strict=True):
        out = tmp_path / f"{row['scale']}.jpg"
        pjstore(path, "get", doc["id"], "--scale", str(row["scale"]), "-o", str(out))
        assert_meets(kinds[kind], out.read_bytes(), row, threshold)


def test_etag_names_the_recipe(tmp_path, kinds):
    with open_storage(tmp_path / "store") as store:
        prefix, _ = ingest(store, kinds["420_q75"], IngestOptions(contract="prefix"))
    with TestClient(create_app(ServerSettings(store=str(tmp_path / "store")))) as c:
        before = c.get(f"/v1/images/{prefix.id}", params={"scale": 0.25}).headers["ETag"]
    with open_storage(tmp_path / "store") as store:
        migrate(store)
    with TestClient(create_app(ServerSettings(store=str(tmp_path / "store")))) as c:
        r = c.get(f"/v1/images/{prefix.id}", params={"scale": 0.25})
        assert r.headers["ETag"] != before, "a new recipe is a new representation"
        assert c.get(f"/v1/images/{prefix.id}", params={"scale": 0.25},
                     headers={"If-None-Match": r.headers["ETag"]}).status_code == 304


def legacy_rendition(prefix: bytes, size: tuple[int, int]) -> bytes:
    """What 0.1.0 served, written out here: decode, LANCZOS, quality 85 4:2:0, the profile kept."""
    im = Image.open(io.BytesIO(prefix))
    im = im.resize(size, Image.LANCZOS) if im.size != size else im
    out = io.BytesIO()
    icc = im.info.get("icc_profile")
    im.save(out, "JPEG", quality=85, optimize=True, progressive=False, **({"icc_profile": icc} if icc else {}))
    return out.getvalue()


def test_a_0_1_0_store_is_served_as_it_was_then_upgraded(tmp_path):
    path = tmp_path / "store"
    shutil.copytree(FIXTURE, path)  # never touch the committed fixture
    with open_storage(path) as store:
        ids = store.list()
        assert len(ids) == 2
        sources = {i: store.get_range(i, 0, store.info(i).stored_bytes) for i in ids}
    with TestClient(create_app(ServerSettings(store=str(path)))) as c:
        for image_id, whole in sources.items():
            doc = c.get(f"/v1/images/{image_id}/info").json()
            assert doc["contract"] == "prefix"
            for row in doc["scales"]:
                r = c.get(row["url"])
                prefix = whole if row["offset"] == len(whole) else whole[:row["offset"]] + b"\xff\xd9"
                assert r.content == legacy_rendition(prefix, (row["width"], row["height"]))
                assert int(r.headers["X-Pjstore-Bytes-Read"]) == row["offset"]
    first = pjstore(path, "migrate")
    assert b"2 upgraded" in first.stderr
    again = pjstore(path, "migrate")
    assert b"0 upgraded" in again.stderr, "a rerun skips records already current"
    pjstore(path, "fsck")  # exit 0: every recipe verifies by rendering
    with TestClient(create_app(ServerSettings(store=str(path)))) as c:
        for image_id, whole in sources.items():  # the stored file decodes to the source's pixels
            doc = c.get(f"/v1/images/{image_id}/info").json()
            assert doc["contract"] == "served"
            for row, threshold in zip(doc["scales"], [*doc["thresholds"], doc["thresholds"][-1]], strict=True):
                assert_meets(whole, c.get(row["url"]).content, row, threshold)


def test_migrate_replaces_records_on_every_backend(any_store, kinds):
    record, _ = ingest(any_store, kinds["422_q90"], IngestOptions(contract="prefix"))
    report = migrate(any_store)
    assert report.upgraded == (record.id,) and not report.failed
    new = any_store.info(record.id)
    assert new.contract == "served" and new.stored_sha256 == record.stored_sha256
    assert migrate(any_store).upgraded == ()


@pytest.mark.parametrize("raw", [b"", b"garbage", b"[1, 2]", b"{}", b'{"v": 99}', b'{"v": 2, "id": "x"}',
                                 b'{"id": "ab", "width": 1}'])
def test_unreadable_records_raise_a_typed_error(raw):
    with pytest.raises(CorruptRecord):
        ImageRecord.loads(raw)


def test_record_validates_itself(served_store):
    _, records = served_store
    record = records["420_q75"]
    assert ImageRecord.loads(record.dumps()) == record
    assert json.loads(record.dumps())["v"] == 5 and "v" not in record.to_json()
    from dataclasses import replace

    for bad in ({"orientation": 9}, {"width": 0}, {"contract": "neither"}, {"id": "xyz"},
                {"stored_bytes": max(e.offset for e in record.offsets.entries) - 1},
                {"contract": "prefix", "stored_bytes": record.offsets.entries[-1].offset + 1}):
        with pytest.raises(ValueError):
            replace(record, **bad)
