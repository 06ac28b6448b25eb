"""Fixtures: generated JPEGs of every kind, a fresh store on each backend, a loopback S3 server.
The helpers they build on (and the contract the tests grade with) are in helpers.py."""

from __future__ import annotations

import os
import uuid

import pytest

from pjstore.storage import LmdbStorage, open_storage

from helpers import KINDS


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
