"""The S3 backend against a real S3-protocol server on loopback: layout, crash safety, reads that
transfer only the prefix (seen from the server side), and the CLI and batch ingest on it unchanged."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import urlparse

import boto3
import pytest
from click.testing import CliRunner

from pjstore.cli import main
from pjstore.errors import NotFound
from pjstore.ingest import ingest, prepare
from pjstore.offset_map import OffsetMap, ScaleOffset
from pjstore.storage import LmdbStorage, open_storage
from pjstore.storage.s3_store import S3Storage

from helpers import contents, ingest_json, tally, write_corpus


def bucket_keys(location: str) -> list[str]:
    bucket = urlparse(location).netloc
    return [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]


def run(location: str, *args: str):
    return CliRunner().invoke(main, ["--store", location, *args])


def test_open_storage_picks_the_backend_from_the_location(s3_location, tmp_path):
    with open_storage(s3_location) as s3, open_storage(tmp_path / "lmdb") as local:
        assert isinstance(s3, S3Storage) and (s3.bucket, s3.prefix) == (urlparse(s3_location).netloc, "images/")
        assert isinstance(local, LmdbStorage)


def big_record(kinds):
    """A real record with so many scales that it no longer fits S3's 2 KB of object metadata."""
    p = prepare(kinds["420_q75"])
    rows = tuple(ScaleOffset(i / 100, 1, 1, 100 + i, 40.0) for i in range(1, 60))
    offsets = OffsetMap("psnr", rows + (p.record.offsets.entries[-1],))
    record = dataclasses.replace(p.record, offsets=offsets, thresholds=(32.0,) * len(rows))
    assert len(record.dumps()) > 2048
    return record, p.blob


def test_a_record_too_big_for_metadata_goes_in_a_sibling_object(s3_location, kinds):
    record, blob = big_record(kinds)
    with open_storage(s3_location) as store:
        assert store.put(record, blob)
        assert store.info(record.id) == record
        assert store.get_range(record.id, 0, record.stored_bytes) == blob
        assert store.list() == [record.id], "the record object is not an image"
        assert len(bucket_keys(s3_location)) == 2
        assert not store.put(record, blob)
        assert len(bucket_keys(s3_location)) == 2, "a refused put leaves nothing behind"
        assert store.delete(record.id)
        assert bucket_keys(s3_location) == []


def test_a_record_written_without_its_file_is_invisible(s3_location, kinds):
    """What a crash between the two writes of a spilled record leaves: nothing anyone can see."""
    record, blob = big_record(kinds)
    bucket = urlparse(s3_location).netloc
    boto3.client("s3").put_object(Bucket=bucket, Key=f"images/{record.id}.deadbeef.json", Body=record.dumps())
    with open_storage(s3_location) as store:
        assert store.list() == [] and not store.exists(record.id)
        with pytest.raises(NotFound):
            store.info(record.id)
        assert store.put(record, blob) and store.info(record.id) == record


def test_a_scaled_read_transfers_only_the_prefix(s3_location, s3_server, tmp_path, kinds):
    src = tmp_path / "a.jpg"
    src.write_bytes(kinds["420_q75"])
    ingested = run(s3_location, "ingest", str(src), "--json", "--workers", "1")
    assert ingested.exit_code == 0, ingested.output
    record = json.loads(ingested.output)
    offset = next(s["offset"] for s in record["scales"] if s["scale"] == 0.25)
    assert offset < record["stored_bytes"]

    s3_server.proxy.log.clear()
    got = run(s3_location, "get", record["id"], "--scale", "0.25", "-o", str(tmp_path / "small.jpg"))
    assert got.exit_code == 0, got.output
    reads = [e for e in s3_server.proxy.log if e.method == "GET"]
    key_path = f"/{urlparse(s3_location).netloc}/images/{record['id']}"  # path-style: an IP endpoint
    assert [(e.path.split("?")[0], e.range, e.status) for e in reads] == [(key_path, f"bytes=0-{offset - 1}", 206)]
    assert reads[0].body_bytes == offset, "the server sent the prefix and nothing more"


def test_batch_ingest_and_the_cli_work_unchanged_on_s3(s3_location, tmp_path, kinds):
    files = write_corpus(tmp_path / "in", kinds)
    first, rows = ingest_json(s3_location, str(tmp_path / "in"), "--workers", "2")
    assert first.returncode == 1 and tally(rows) == (7, 1, 1), first.stderr
    with LmdbStorage(tmp_path / "serial") as serial, open_storage(s3_location) as s3:
        for f in files:
            if f.name != "broken.jpg":
                ingest(serial, f.read_bytes())
        assert contents(s3) == contents(serial)
        stored_ids = serial.list()
        image_id = stored_ids[0]
        stored_bytes = serial.info(image_id).stored_bytes
    again, rows = ingest_json(s3_location, str(tmp_path / "in"), "--workers", "2")
    assert tally(rows) == (0, 1, 8), again.stderr

    assert run(s3_location, "ls").output.split() == stored_ids
    assert json.loads(run(s3_location, "info", image_id[:8]).output)["stored_bytes"] == stored_bytes
    assert run(s3_location, "export", image_id, "-o", str(tmp_path / "x.jpg")).exit_code == 0
    assert (tmp_path / "x.jpg").stat().st_size == stored_bytes
    assert run(s3_location, "rm", image_id).exit_code == 0
    assert image_id not in run(s3_location, "ls").output
