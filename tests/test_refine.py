"""Answer first, refine after: provisional records served at their promise, the refinement queue in
the store (LMDB and S3), the swap no reader sees half of, fsck's view of the queue, the 503 of a
full queue, and record version 5 reading every earlier one."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest

from pjstore.errors import StaleRecord
from pjstore.fsck import fsck
from pjstore.ingest import IngestOptions, ingest, prepare
from pjstore.read_path import select
from pjstore.read_path.serve import render, render_selection
from pjstore.record import ImageRecord
from pjstore.refine import Outcome, refine_next
from pjstore.refine_queue import MAX_ATTEMPTS, QueueEntry
from pjstore.samples import encode, pixels
from pjstore.server import app as server_app

from helpers import (
    JPEG,
    assert_error,
    assert_lossless,
    assert_provisional_meets_its_promise,
    assert_served_meets_contract,
    make_client,
    served_psnr,
    stored_ids,
)

LEASE = 30.0
PROVISIONAL_KINDS = ("420_q75", "gray", "cmyk", "oriented_6", "icc", "wide_icc", "tiny_7x5", "extreme_1000x3")


def blob(store, record: ImageRecord) -> bytes:
    return store.get_range(record.id, 0, record.stored_bytes)


@pytest.mark.parametrize("kind", PROVISIONAL_KINDS)
def test_a_provisional_record_is_served_at_its_promise(store, kinds, kind):
    record, created = ingest(store, kinds[kind], provisional=True)
    assert created and record.provisional and record.to_json()["provisional"] is True
    stored = blob(store, record)
    assert_lossless(kinds[kind], stored)
    assert_provisional_meets_its_promise(kinds[kind], stored, record)
    assert [e.image_id for e in store.queued()] == [record.id], "queued by the same write"
    assert fsck(store).problems == ()


def test_refinement_makes_what_a_batch_ingest_makes(any_store, kinds):
    """On either backend: the swapped-in file and record are the inline search's, and the queue empties."""
    source = kinds["420_q75"]
    provisional, _ = ingest(any_store, source, provisional=True)
    done = refine_next(any_store, IngestOptions(), LEASE)
    assert done is not None and (done.image_id, done.outcome) == (provisional.id, Outcome.REFINED)
    inline = prepare(source)
    refined = any_store.info(provisional.id)
    assert refined == inline.record and not refined.provisional
    assert blob(any_store, refined) == inline.blob
    assert_served_meets_contract(source, inline.blob, refined, refined.target)
    assert any_store.queued() == [] and refine_next(any_store, IngestOptions(), LEASE) is None


def test_no_reader_sees_a_new_file_at_old_offsets(any_store, kinds):
    """A reader holding the provisional record is refused the refined file (StaleRecord), never
    handed its bytes; reading the record again serves the refined image."""
    source = kinds["420_q75"]
    old, _ = ingest(any_store, source, provisional=True)
    chosen = select.by_scale(old, 0.25)
    refine_next(any_store, IngestOptions(), LEASE)
    new = any_store.info(old.id)
    assert new.stored_sha256 != old.stored_sha256, "the search re-laid the file out"
    with pytest.raises(StaleRecord):
        render_selection(any_store, old, chosen)
    with pytest.raises(StaleRecord):
        any_store.get_range(old.id, 0, 10, old.stored_sha256)
    served = render(any_store, old.id, scale=0.25)  # reads the record again
    entry = new.offsets.entry(0.25)
    assert served.bytes_read == entry.offset < new.stored_bytes
    assert served_psnr(source, served.data, 0.25) >= new.thresholds[1]


def test_a_lease_keeps_an_entry_from_a_second_refiner_until_it_runs_out(any_store, kinds):
    record, _ = ingest(any_store, kinds["gray"], provisional=True)
    now = time.time()
    entry = any_store.claim(now, 10)
    assert entry is not None and entry.attempts == 1
    assert any_store.claim(now + 5, 10) is None, "held by the first refiner"
    assert any_store.renew(entry, now + 9, 10)
    assert any_store.claim(now + 15, 10) is None, "renewed"
    taken = any_store.claim(now + 20, 10)
    assert taken is not None and taken.attempts == 2, "a killed refiner's entry is taken over"
    assert not any_store.renew(entry, now + 21, 10), "the first refiner lost it"
    assert any_store.queue_depth(10) == 1 and any_store.dequeue(record.id) and any_store.queued() == []


def test_a_stale_entry_is_dropped_and_an_image_deleted_meanwhile_is_not_revived(any_store, kinds):
    record, _ = ingest(any_store, kinds["gray"], provisional=True)
    assert any_store.delete(record.id)
    any_store.enqueue(record.id, time.time())  # as a crash between the two writes leaves it (S3)
    done = refine_next(any_store, IngestOptions(), LEASE)
    assert done is not None and done.outcome is Outcome.STALE
    assert any_store.queued() == [] and not any_store.exists(record.id)
    # The swap itself refuses an image deleted after the search began.
    record, _ = ingest(any_store, kinds["gray"], provisional=True)
    better = prepare(kinds["gray"])
    assert any_store.delete(record.id)
    assert not any_store.swap(record, better.record, better.blob)
    assert not any_store.exists(record.id) and any_store.queued() == []


def test_fsck_reports_the_queue_and_repairs_what_a_crash_leaves(store, kinds):
    waiting, _ = ingest(store, kinds["gray"], provisional=True)
    unqueued, _ = ingest(store, kinds["cmyk"], provisional=True)
    searched, _ = ingest(store, kinds["420_q75"])
    store.dequeue(unqueued.id)
    store.enqueue(searched.id, time.time())  # an entry whose image was already searched
    report = fsck(store)
    assert {(p.image_id, p.kind) for p in report.problems} == {(unqueued.id, "unqueued"),
                                                               (searched.id, "stale-queue-entry")}
    assert {e.image_id for e in report.queued} == {waiting.id, searched.id}
    repaired = fsck(store, repair=True)
    assert all(p.repaired for p in repaired.problems) and repaired.clean
    assert {e.image_id for e in repaired.queued} == {waiting.id, unqueued.id}
    assert fsck(store).problems == ()


def test_an_entry_given_up_after_its_attempts_is_reported_and_queued_again(store, kinds):
    record, _ = ingest(store, kinds["gray"], provisional=True)
    past = time.time() - 1000  # every lease below has run out by now
    for attempt in range(MAX_ATTEMPTS):
        assert store.claim(past + attempt * 20, 10) is not None
    assert store.claim(past + 100, 10) is None, "given up"
    assert QueueEntry.loads(store.queued()[0].dumps()).given_up(time.time())
    assert [(p.image_id, p.kind) for p in fsck(store).problems] == [(record.id, "unqueued")]
    assert fsck(store, repair=True).clean
    assert [(e.image_id, e.attempts) for e in store.queued()] == [(record.id, 0)]
    done = refine_next(store, IngestOptions(), LEASE)
    assert done is not None and done.outcome is Outcome.REFINED and not store.info(record.id).provisional


class NoRefiners:
    """The server's refiners, switched off: the queue fills and stays full."""

    def __init__(self, *args) -> None:
        pass

    def close(self) -> None:
        pass


def test_uploads_get_503_with_retry_after_while_the_refinement_queue_is_full(tmp_path, kinds, monkeypatch):
    monkeypatch.setattr(server_app, "Refiners", NoRefiners)
    with make_client(tmp_path, refine_workers=1, refine_queue=1) as c:
        first = c.post("/v1/images", content=kinds["420_q75"], headers=JPEG)
        assert first.status_code == 201 and first.json()["provisional"] is True
        refused = c.post("/v1/images", content=kinds["gray"], headers=JPEG)
        assert_error(refused, 503, "Overloaded")
        assert int(refused.headers["retry-after"]) > 0
        assert stored_ids(c) == [first.json()["id"]], "nothing of the refused upload was stored"
        # The provisional image is served at its promise over HTTP, from the whole file.
        doc = first.json()
        for row, threshold in zip(doc["scales"], [*doc["thresholds"], doc["thresholds"][-1]], strict=True):
            response = c.get(row["url"])
            assert response.status_code == 200
            assert int(response.headers["x-pjstore-bytes-read"]) == doc["stored_bytes"]
            assert len(response.content) == row["served_bytes"]
            assert served_psnr(kinds["420_q75"], response.content, row["scale"]) >= threshold



def test_the_page_says_an_image_is_provisional(tmp_path, kinds, monkeypatch):
    """The gallery explains why every size of a provisional image reads the whole file, instead of
    the note for images whose first scans meet every size; a refined image loses it."""
    monkeypatch.setattr(server_app, "Refiners", NoRefiners)
    with make_client(tmp_path, refine_workers=1) as c:
        first = c.post("/v1/images", content=kinds["420_q75"], headers=JPEG).json()
        page = c.get("/").text
        figure = page[page.index(f'data-id="{first["id"]}"'):]
        assert 'class="note provisional"' in figure[:figure.index("</figure>")]
        refine_next(c.app.state.pjstore.store, IngestOptions(), LEASE)
        page = c.get("/").text
        figure = page[page.index(f'data-id="{first["id"]}"'):]
        assert "provisional" not in figure[:figure.index("</figure>")]

def test_the_server_refines_its_uploads_in_the_background(tmp_path, kinds):
    source = encode(pixels("astronaut")[:300, :400], 88, "4:2:0")
    with make_client(tmp_path, refine_workers=1) as c:
        answer = c.post("/v1/images", content=source, headers=JPEG).json()
        assert answer["provisional"] is True
        deadline = time.monotonic() + 120
        while c.get(f"/v1/images/{answer['id']}/info").json()["provisional"]:
            assert time.monotonic() < deadline, "not refined within 2 minutes"
            time.sleep(0.2)
        store = c.app.state.pjstore.store
        refined = store.info(answer["id"])
        assert refined == prepare(source).record
        assert_served_meets_contract(source, blob(store, refined), refined, refined.target)


def test_record_version_5_reads_version_4_as_searched(kinds):
    record = prepare(kinds["420_q75"], provisional=True).record
    doc = json.loads(record.dumps())
    assert doc["v"] == 5 and doc["provisional"] is True
    assert ImageRecord.loads(record.dumps()) == record
    del doc["provisional"]
    old = ImageRecord.loads(json.dumps({**doc, "v": 4}).encode())
    assert old == dataclasses.replace(record, provisional=False)
    with pytest.raises(ValueError, match="provisional"):
        dataclasses.replace(record, contract="prefix")
