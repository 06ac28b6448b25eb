"""Every backend (LMDB and S3): atomic put, range reads, info, delete, ordered listing; LMDB shared by
many processes."""

from __future__ import annotations

import multiprocessing

import pytest

from pjstore.errors import NotFound
from pjstore.ingest import prepare
from pjstore.storage import LmdbStorage


@pytest.fixture
def store(any_store):
    return any_store


def test_put_get_info_delete_list(store, kinds):
    p = prepare(kinds["420_q75"])
    assert store.put(p.record, p.blob)
    assert not store.put(p.record, b"other bytes"), "an existing id is never overwritten"
    assert store.get_range(p.record.id, 0, p.record.stored_bytes) == p.blob
    assert store.get_range(p.record.id, 10, 20) == p.blob[10:20]
    assert store.info(p.record.id) == p.record
    assert store.exists(p.record.id) and store.list() == [p.record.id]
    assert store.delete(p.record.id) and not store.delete(p.record.id)
    assert not store.exists(p.record.id) and store.list() == []
    with pytest.raises(NotFound):
        store.info(p.record.id)
    with pytest.raises(NotFound):
        store.get_range(p.record.id, 0, 1)


def test_list_pages_in_order(store, kinds):
    records = [prepare(kinds[k]).record for k in ("420_q75", "gray", "tiny_1x1", "cmyk")]
    for r in records:
        store.put(r, b"\xff\xd8\xff\xd9")
    ids = sorted(r.id for r in records)
    assert store.list() == ids
    assert store.list(limit=2) == ids[:2]
    assert store.list(after=ids[1]) == ids[2:]


def _put_from_child(path, source):
    with LmdbStorage(path) as s:
        p = prepare(source)
        s.put(p.record, p.blob)


def test_several_processes_share_one_store(tmp_path, kinds):
    path = tmp_path / "shared-store"
    LmdbStorage(path).close()
    ctx = multiprocessing.get_context("spawn")
    sources = [kinds[k] for k in ("420_q75", "gray", "444_q95")]
    procs = [ctx.Process(target=_put_from_child, args=(path, s)) for s in sources]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with LmdbStorage(path) as s:
        assert len(s.list()) == 3
