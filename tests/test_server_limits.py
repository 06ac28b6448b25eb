"""Limits and abuse: result dimensions, the request time limit, bounded queues (503 + Retry-After),
signed image URLs, and nothing private (EXIF/GPS, tracebacks) in any response."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner
from PIL import Image

from pjstore.cli import main, serving
from pjstore.ingest import ingest
from pjstore.server import ingest_pool, routes_images
from pjstore.server.backpressure import Admission
from pjstore.server.errors import ApiError
from pjstore.server.settings import ServerSettings

from helpers import assert_error, make_client, stored_ids, upload

GPS_IFD = 0x8825


class Blocked:
    """A stand-in for slow work: blocks until released, and says when it has started."""

    def __init__(self, result: object = None) -> None:
        self.started, self.released, self.result = threading.Event(), threading.Event(), result

    def __call__(self, *args, **kwargs) -> object:
        self.started.set()
        assert self.released.wait(30)
        return self.result


def stored(c, data: bytes) -> str:
    """Ingest `data` straight into the client's store (no upload, so no upload limits apply)."""
    return ingest(c.app.state.pjstore.store, data)[0].id


def in_thread(call) -> tuple[threading.Thread, list]:
    """Run `call()` in a thread; its result lands in the returned list."""
    out: list = []
    thread = threading.Thread(target=lambda: out.append(call()))
    thread.start()
    return thread, out


def test_serve_options_reach_the_settings(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(serving, "start_server", lambda settings, *args: seen.append(settings))
    result = CliRunner().invoke(main, ["--store", str(tmp_path), "serve", "--max-result-dimension", "640",
                                       "--request-timeout", "2.5", "--render-queue", "7", "--upload-queue", "0",
                                       "--url-key", "k", "--url-salt", "s"])
    assert result.exit_code == 0, result.output
    assert seen == [ServerSettings(store=str(tmp_path), max_result_dimension=640, request_timeout=2.5,
                                   render_queue=7, upload_queue=0, url_key="k", url_salt="s")]


# --- result dimensions --------------------------------------------------------------------------

def test_result_dimension_limit_is_400_whatever_asks_for_it(tmp_path, kinds):
    with make_client(tmp_path, max_result_dimension=100) as c:
        image_id = upload(c, kinds["420_q75"]).json()["id"]  # 240x200
        for ok in ({"w": 100}, {"h": 83}, {"scale": 0.25}):
            assert c.get(f"/v1/images/{image_id}", params=ok).status_code == 200
        for over in ({"w": 101}, {"h": 100}, {"scale": 1}, {}):
            assert_error(c.get(f"/v1/images/{image_id}", params=over), 400, "InvalidRequest")


# --- request time limit and bounded queues ------------------------------------------------------

def test_a_slow_render_answers_504_and_keeps_its_thread_counted(tmp_path, kinds, monkeypatch):
    with make_client(tmp_path, request_timeout=0.2, render_threads=1, render_queue=0) as c:
        image_id = stored(c, kinds["gray"])
        slow = Blocked()
        real_render = routes_images.render_selection
        monkeypatch.setattr(routes_images, "render_selection", slow)
        assert_error(c.get(f"/v1/images/{image_id}", params={"scale": 0.5}), 504, "Timeout")
        # The render goes on in its thread (threads cannot be killed) and still fills the queue.
        busy = c.get(f"/v1/images/{image_id}", params={"scale": 0.5})
        assert_error(busy, 503, "Overloaded")
        assert busy.headers["retry-after"] == "1"
        monkeypatch.setattr(routes_images, "render_selection", real_render)
        slow.released.set()
        c.app.state.pjstore.render_pool.submit(lambda: None).result()  # the slow render has finished
        assert c.get(f"/v1/images/{image_id}", params={"scale": 0.5}).status_code == 200


@contextlib.contextmanager
def renders_full(c, image_id: str, monkeypatch):
    """The only render thread busy with a render of `image_id` (no queue), until the block ends."""
    slow = Blocked()
    monkeypatch.setattr(routes_images, "render_selection", slow)
    first, _ = in_thread(lambda: c.get(f"/v1/images/{image_id}", params={"scale": 0.5}))
    try:
        assert slow.started.wait(30)
        yield
    finally:
        slow.released.set()
        first.join()


def test_renders_beyond_the_queue_get_503_with_retry_after(tmp_path, kinds, monkeypatch):
    with make_client(tmp_path, render_threads=1, render_queue=0) as c:
        image_id = stored(c, kinds["gray"])
        with renders_full(c, image_id, monkeypatch):
            refused = c.get(f"/v1/images/{image_id}", params={"scale": 0.25})
            assert_error(refused, 503, "Overloaded")
            assert refused.headers["retry-after"] == "1"


def test_originals_share_the_renders_bounds(tmp_path, kinds, monkeypatch):
    """An arithmetic-coded store's /original is a transcode: it waits its turn with the renders."""
    with make_client(tmp_path, render_threads=1, render_queue=0) as c:
        image_id = stored(c, kinds["gray"])
        with renders_full(c, image_id, monkeypatch):
            assert_error(c.get(f"/v1/images/{image_id}/original"), 503, "Overloaded")
        assert c.get(f"/v1/images/{image_id}/original").status_code == 200


def test_admission_counts_running_and_waiting_jobs_until_they_finish():
    admission = Admission(running=1, waiting=1, what="jobs")
    blocked = Blocked("done")
    with ThreadPoolExecutor(1) as executor:
        running = admission.submit(executor, blocked)
        waiting = admission.submit(executor, lambda: "next")
        with pytest.raises(ApiError) as refused:
            admission.submit(executor, lambda: "refused")
        assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "1"}
        blocked.released.set()
        assert (running.result(), waiting.result()) == ("done", "next")
        assert admission.submit(executor, lambda: "room again").result() == "room again"


@pytest.fixture
def slow_ingest(tmp_path, kinds, monkeypatch):
    """A client whose uploads are ingested by a Blocked stand-in, in a thread it can see."""
    with make_client(tmp_path, prepare_workers=1, upload_queue=0, request_timeout=0.3) as c:
        uploads = c.app.state.pjstore.uploads
        monkeypatch.setattr(uploads, "_pool", ThreadPoolExecutor(1))
        slow = Blocked()
        monkeypatch.setattr(ingest_pool, "_ingest_at", slow)
        yield c, slow
        slow.released.set()


def test_uploads_beyond_the_queue_get_503_and_store_nothing(slow_ingest, kinds):
    c, slow = slow_ingest
    first, _ = in_thread(lambda: upload(c, kinds["420_q75"]))
    assert slow.started.wait(30)
    refused = upload(c, kinds["cmyk"])
    assert_error(refused, 503, "Overloaded")
    assert refused.headers["retry-after"] == "1"
    slow.released.set()
    first.join()
    assert stored_ids(c) == []


@pytest.fixture
def held_ingest(tmp_path, monkeypatch):
    """A client (request time limit 0.3 s, one upload waiting) whose uploads' ingests start, then wait
    for `released` before doing the real work, in a thread it can see (into the app's own store:
    LMDB opens a store once per process)."""
    with make_client(tmp_path, prepare_workers=1, upload_queue=1, request_timeout=0.3) as c:
        monkeypatch.setattr(c.app.state.pjstore.uploads, "_pool", ThreadPoolExecutor(1))
        held = Blocked()

        def ingest_when_released(location, source, options, provisional):
            held()
            return ingest(c.app.state.pjstore.store, source, options, provisional=provisional)

        monkeypatch.setattr(ingest_pool, "_ingest_at", ingest_when_released)
        yield c, held
        held.released.set()


def test_a_started_upload_is_answered_with_its_record_however_long_it_takes(held_ingest, kinds):
    """Never 504 once the work has started: the client would take a stored upload for a lost one."""
    c, held = held_ingest
    first, answer = in_thread(lambda: upload(c, kinds["420_q75"]))
    assert held.started.wait(30)
    first.join(1.0)  # three request time limits
    assert first.is_alive(), "still waiting for its record"
    held.released.set()
    first.join()
    assert answer[0].status_code == 201 and stored_ids(c) == [answer[0].json()["id"]]


def test_an_upload_not_started_within_the_time_limit_gets_503_and_stores_nothing(held_ingest, kinds):
    c, held = held_ingest
    first, answer = in_thread(lambda: upload(c, kinds["420_q75"]))
    assert held.started.wait(30)
    waiting = upload(c, kinds["gray"])  # queued behind the first, which holds the one worker
    assert_error(waiting, 503, "Overloaded")
    assert waiting.headers["retry-after"] == "1"
    held.released.set()
    first.join()
    assert stored_ids(c) == [answer[0].json()["id"]], "the refused upload was not stored"


# --- signed URLs ---------------------------------------------------------------------------------

def reference_signature(key: bytes, salt: bytes, url: str) -> str:
    """The documented scheme, written out independently: base64url(HMAC-SHA256(key, salt + url))."""
    return base64.urlsafe_b64encode(hmac.new(key, salt + url.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()


def test_signed_urls_render_and_anything_else_is_403(tmp_path, kinds):
    with make_client(tmp_path, url_key="k3y", url_salt="s4lt") as c:
        info = upload(c, kinds["420_q75"]).json()
        path = f"/v1/images/{info['id']}"
        signed = CliRunner(env={"PJSTORE_URL_KEY": "k3y", "PJSTORE_URL_SALT": "s4lt"}).invoke(
            main, ["sign-url", f"{path}?w=100"]).output.strip()
        assert signed == f"{path}?w=100&sig={reference_signature(b'k3y', b's4lt', f'{path}?w=100')}"
        response = c.get(signed)
        assert response.status_code == 200 and Image.open(io.BytesIO(response.content)).width == 100

        sig = signed.rpartition("sig=")[2]
        for forged in (f"{path}?w=100", f"{path}?w=101&sig={sig}", f"{path}?w=100&sig={sig[:-1]}A",
                       f"{path}?w=100&sig={sig}&sig={sig}", f"{path}?scale=1&sig={sig}", f"{path}?sig={sig}"):
            assert_error(c.get(forged), 403, "Forbidden")
        # The record's own URLs come signed, so the page works without the key; the rest stays open.
        for row in c.get(f"{path}/info").json()["scales"]:
            assert c.get(row["url"]).status_code == 200
        assert c.get("/").status_code == 200
        assert c.get(f"{path}/original").status_code == 200


def test_without_a_key_urls_are_plain(tmp_path, kinds):
    with make_client(tmp_path) as c:
        info = upload(c, kinds["gray"]).json()
        assert [row["url"] for row in info["scales"]] == \
            [f"/v1/images/{info['id']}?scale={row['scale']:g}" for row in info["scales"]]


# --- nothing private served ----------------------------------------------------------------------

def test_the_stored_original_carries_no_gps(tmp_path, kinds):
    # The source's EXIF has a GPS position; the stored file keeps only the orientation.
    assert GPS_IFD in Image.open(io.BytesIO(kinds["oriented_6"])).getexif()
    with make_client(tmp_path) as c:
        image_id = upload(c, kinds["oriented_6"]).json()["id"]
        exif = Image.open(io.BytesIO(c.get(f"/v1/images/{image_id}/original").content)).getexif()
        assert dict(exif) == {0x0112: 6}


def test_a_failing_upload_is_500_json_without_traceback(tmp_path, kinds, monkeypatch):
    with make_client(tmp_path) as c:
        async def broken(*args, **kwargs):
            raise RuntimeError("disk on fire at /secret/path")

        monkeypatch.setattr(c.app.state.pjstore.uploads, "ingest", broken)
        response = upload(c, kinds["gray"])
        assert_error(response, 500, "InternalError")
        assert "secret" not in response.text
