"""The HTTP API through FastAPI's TestClient: every endpoint, status code and header users rely on."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import re

import numpy as np
import pytest
from PIL import Image, ImageOps
from starlette.requests import Request

from pjstore.encoder.structure import parse
from pjstore.errors import CorruptJpeg, EmptyInput, NotAJpeg, TooLarge, TruncatedJpeg, UnsupportedJpeg
from pjstore.ingest import DEFAULT_SCHEME, SCHEMES
from pjstore.server.limits import read_upload
from pjstore.server.settings import ServerSettings

from edge_cases import CASES, REJECTED
from helpers import JPEG, CountingStore, assert_error, assert_served_jpeg, make_client, stored_ids, upload
from serving import metric

CACHE_FOREVER = "public, max-age=31536000, immutable"


@pytest.fixture
def client(tmp_path):
    with make_client(tmp_path) as c:
        yield c


@pytest.fixture(scope="module")
def served(tmp_path_factory, kinds):
    """One server holding every kind of JPEG: (client, {kind: info JSON})."""
    with make_client(tmp_path_factory.mktemp("served")) as c:
        infos = {}
        for kind in ("420_q75", "gray", "cmyk", "oriented_6", "tiny_1x1", "extreme_1000x3", "icc"):
            response = c.post("/v1/images", content=kinds[kind], headers=JPEG)
            assert response.status_code == 201, response.text
            infos[kind] = response.json()
        yield c, infos


def upright(info: dict, row: dict) -> tuple[int, int]:
    return (row["height"], row["width"]) if info["orientation"] >= 5 else (row["width"], row["height"])


# --- upload -------------------------------------------------------------------------------------

def test_upload_returns_201_with_info_and_location_then_200_for_the_same_bytes(client, kinds):
    first = upload(client, kinds["420_q75"])
    assert first.status_code == 201
    info = first.json()
    assert first.headers["location"] == f"/v1/images/{info['id']}"
    assert client.get(f"/v1/images/{info['id']}/info").json() == info
    assert [s["scale"] for s in info["scales"]] == [0.1, 0.25, 0.5, 1.0]
    assert (info["width"], info["height"]) == (240, 200)
    assert info["scheme"] in {plan for plan, _ in SCHEMES[DEFAULT_SCHEME]}  # the server uses the default
    again = client.post("/v1/images", files={"file": ("a.jpg", kinds["420_q75"], "image/jpeg")})
    assert again.status_code == 200 and again.json() == info
    assert stored_ids(client) == [info["id"]]


def test_multipart_upload(client, kinds):
    response = client.post("/v1/images", files={"file": ("g.jpg", kinds["gray"], "image/jpeg")})
    assert response.status_code == 201
    assert stored_ids(client) == [response.json()["id"]]


@pytest.mark.parametrize("body, headers, status, error", [
    (b"\x89PNG\r\n\x1a\n" + bytes(64), JPEG, 415, "NotAJpeg"),
    (b"", JPEG, 400, "EmptyInput"),
    (b"some text", {"Content-Type": "text/plain"}, 415, "UnsupportedMediaType"),
    (b"--x\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nv\r\n--x--\r\n",
     {"Content-Type": "multipart/form-data; boundary=x"}, 400, "InvalidRequest"),
])
def test_bad_uploads_are_refused_and_nothing_is_stored(client, body, headers, status, error):
    assert_error(client.post("/v1/images", content=body, headers=headers), status, error)
    assert stored_ids(client) == []


def test_truncated_upload_is_422_and_nothing_is_stored(client, kinds):
    assert_error(upload(client, kinds["420_q75"][:3000]), 422, "TruncatedJpeg")
    assert stored_ids(client) == []
    assert upload(client, kinds["gray"]).status_code == 201  # and the server goes on working


# The status docs/http-api.md gives each refusal; edge_cases.py has an input of every kind.
STATUS = {EmptyInput: 400, NotAJpeg: 415, TooLarge: 413, TruncatedJpeg: 422, CorruptJpeg: 422, UnsupportedJpeg: 422}


def test_every_refused_kind_maps_to_its_status_and_nothing_is_stored(client):
    for name in REJECTED:
        error = CASES[name].error
        assert_error(upload(client, CASES[name].make()), STATUS[error], error.__name__)
    assert stored_ids(client) == []
    assert client.get("/healthz").status_code == 200


def test_upload_size_limit_declared_or_streamed(tmp_path, kinds):
    data = kinds["420_q75"]
    with make_client(tmp_path, max_upload_bytes=len(data) - 1) as c:
        assert_error(upload(c, data), 413, "TooLarge")  # Content-Length declared over the limit
        chunks = (data[i:i + 1000] for i in range(0, len(data), 1000))
        assert_error(upload(c, chunks), 413, "TooLarge")  # chunked: cut off while streaming
        assert_error(c.post("/v1/images", files={"file": ("a.jpg", data, "image/jpeg")}), 413, "TooLarge")
        assert stored_ids(c) == []
        assert upload(c, kinds["tiny_7x5"]).status_code == 201


def test_pixel_limit_is_413(tmp_path, kinds):
    with make_client(tmp_path, max_pixels=240 * 200 - 1) as c:
        assert_error(upload(c, kinds["420_q75"]), 413, "TooLarge")
        assert stored_ids(c) == []


# --- serving ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["420_q75", "gray", "cmyk", "oriented_6", "tiny_1x1", "extreme_1000x3", "icc"])
def test_every_scale_is_an_exact_upright_baseline_jpeg_read_from_its_prefix(served, kind):
    c, infos = served
    info = infos[kind]
    for row in info["scales"]:
        response = c.get(f"/v1/images/{info['id']}", params={"scale": row["scale"]})
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/jpeg"
        assert int(response.headers["content-length"]) == len(response.content)
        assert int(response.headers["x-pjstore-bytes-read"]) == row["offset"]
        assert response.headers["cache-control"] == CACHE_FOREVER
        assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["etag"])
        assert_served_jpeg(response.content, upright(info, row))


def test_served_image_is_upright(served, kinds):
    c, infos = served
    data = c.get(f"/v1/images/{infos['oriented_6']['id']}", params={"scale": 1}).content
    served_pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), float)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(kinds["oriented_6"]))).convert("RGB"), float)
    assert served_pixels.shape == expected.shape == (240, 160, 3)
    assert 10 * np.log10(255**2 / np.mean((served_pixels - expected) ** 2)) >= 32  # the contract, upright


def test_no_scale_means_the_whole_image(served):
    """At full size, from the full-size row's prefix (under the served contract, rarely all of it)."""
    c, infos = served
    info = infos["420_q75"]
    response = c.get(f"/v1/images/{info['id']}")
    assert int(response.headers["x-pjstore-bytes-read"]) == info["scales"][-1]["offset"] <= info["stored_bytes"]
    assert_served_jpeg(response.content, (240, 200))


@pytest.mark.parametrize("query, size, scale", [
    ({"w": 50}, (50, 42), 0.25), ({"h": 100}, (120, 100), 0.5), ({"w": 240}, (240, 200), 1.0),
    ({"w": 24}, (24, 20), 0.1), ({"h": 1}, (1, 1), 0.1),
])
def test_any_width_or_height_from_the_smallest_covering_scale(served, query, size, scale):
    c, infos = served
    info = infos["420_q75"]  # 240x200
    response = c.get(f"/v1/images/{info['id']}", params=query)
    assert response.status_code == 200
    offset = next(row["offset"] for row in info["scales"] if row["scale"] == scale)
    assert int(response.headers["x-pjstore-bytes-read"]) == offset
    assert_served_jpeg(response.content, size)


def test_width_and_height_are_upright_for_rotated_images(served):
    c, infos = served
    info = infos["oriented_6"]  # stored 240x160, upright 160x240
    assert_served_jpeg(c.get(f"/v1/images/{info['id']}", params={"w": 160}).content, (160, 240))
    assert c.get(f"/v1/images/{info['id']}", params={"w": 161}).status_code == 400


@pytest.mark.parametrize("query", [
    {"scale": 0.3}, {"scale": 2}, {"scale": 0}, {"scale": "abc"}, {"w": 241}, {"h": 201}, {"w": 0},
    {"w": -5}, {"w": "wide"}, {"scale": 0.5, "w": 10}, {"w": 10, "h": 10},
])
def test_bad_scale_or_size_is_400(served, query):
    c, infos = served
    assert_error(c.get(f"/v1/images/{infos['420_q75']['id']}", params=query), 400, "InvalidRequest")


def test_unknown_and_malformed_ids(served):
    c, _ = served
    unknown = "0" * 64
    for path in (f"/v1/images/{unknown}", f"/v1/images/{unknown}/info", f"/v1/images/{unknown}/original"):
        assert_error(c.get(path), 404, "NotFound")
    for bad in ("xyz", "A" * 64, "0" * 63, "g" * 64, "0" * 64 + "0"):
        assert_error(c.get(f"/v1/images/{bad}/info"), 400, "InvalidRequest")
        assert_error(c.get(f"/v1/images/{bad}", params={"scale": 0.1}), 400, "InvalidRequest")


@pytest.fixture
def counting(served):
    """The served client with its store wrapped in a CountingStore (restored afterwards)."""
    c, infos = served
    state = c.app.state.pjstore
    store = CountingStore(state.store)
    c.app.state.pjstore = dataclasses.replace(state, store=store)
    yield c, infos, store
    c.app.state.pjstore = state


def test_reads_only_the_prefix_and_if_none_match_reads_nothing(counting):
    c, infos, store = counting
    info = infos["420_q75"]
    url = f"/v1/images/{info['id']}"
    first = c.get(url, params={"scale": 0.25})
    assert store.ranges == [(0, info["scales"][1]["offset"])]
    assert c.get(url, params={"scale": 0.25}).headers["etag"] == first.headers["etag"]
    assert c.get(url, params={"scale": 0.5}).headers["etag"] != first.headers["etag"]
    store.ranges.clear()
    for tag in (first.headers["etag"], f'"other", {first.headers["etag"]}', f"W/{first.headers['etag']}", "*"):
        cached = c.get(url, params={"scale": 0.25}, headers={"If-None-Match": tag})
        assert cached.status_code == 304 and cached.content == b""
        assert cached.headers["etag"] == first.headers["etag"]
    assert store.ranges == []
    assert c.get(url, params={"scale": 0.25}, headers={"If-None-Match": '"other"'}).status_code == 200


# --- original, with ranges ------------------------------------------------------------------------

def test_original_is_the_stored_progressive_file(served):
    c, infos = served
    info = infos["420_q75"]
    response = c.get(f"/v1/images/{info['id']}/original")
    assert response.status_code == 200
    assert response.headers["accept-ranges"] == "bytes"
    assert len(response.content) == info["stored_bytes"] == int(response.headers["x-pjstore-bytes-read"])
    assert parse(response.content).frame.marker == 0xC2  # progressive
    assert Image.open(io.BytesIO(response.content)).size == (240, 200)


def test_original_range_fetches_exactly_the_prefix_the_info_names(served):
    c, infos = served
    info = infos["420_q75"]
    url, total = f"/v1/images/{info['id']}/original", info["stored_bytes"]
    whole = c.get(url).content
    offset = info["scales"][0]["offset"]
    prefix = c.get(url, headers={"Range": f"bytes=0-{offset - 1}"})
    assert prefix.status_code == 206
    assert prefix.headers["content-range"] == f"bytes 0-{offset - 1}/{total}"
    assert prefix.content == whole[:offset] and int(prefix.headers["content-length"]) == offset
    Image.open(io.BytesIO(prefix.content + b"\xff\xd9")).load()  # a decodable prefix
    cases = {"bytes=100-": (100, total), "bytes=-10": (total - 10, total), f"bytes=5-{total + 50}": (5, total)}
    for header, (start, stop) in cases.items():
        part = c.get(url, headers={"Range": header})
        assert part.status_code == 206 and part.content == whole[start:stop]
        assert part.headers["content-range"] == f"bytes {start}-{stop - 1}/{total}"


def test_original_unsatisfiable_and_ignored_ranges(served):
    c, infos = served
    info = infos["420_q75"]
    url, total = f"/v1/images/{info['id']}/original", info["stored_bytes"]
    for header in (f"bytes={total}-", "bytes=-0"):
        response = c.get(url, headers={"Range": header})
        assert_error(response, 416, "RangeNotSatisfiable")
        assert response.headers["content-range"] == f"bytes */{total}"
    for header in ("bytes=0-1,5-9", "items=0-5", "bytes=9-1", "bytes=-"):
        response = c.get(url, headers={"Range": header})
        assert response.status_code == 200 and len(response.content) == total


# --- listing and deleting -------------------------------------------------------------------------

def test_listing_pages_through_every_id_in_order(served):
    c, infos = served
    everything = sorted(info["id"] for info in infos.values())
    seen, after = [], None
    while True:
        page = c.get("/v1/images", params={"limit": 3, **({"after": after} if after else {})}).json()
        assert len(page["ids"]) <= 3
        seen += page["ids"]
        after = page["next"]
        if after is None:
            break
        assert after == page["ids"][-1]
    assert seen == everything
    assert_error(c.get("/v1/images", params={"limit": 0}), 400, "InvalidRequest")
    assert_error(c.get("/v1/images", params={"limit": 1001}), 400, "InvalidRequest")
    assert_error(c.get("/v1/images", params={"after": "nope"}), 400, "InvalidRequest")


def test_delete(client, kinds):
    image_id = upload(client, kinds["gray"]).json()["id"]
    response = client.delete(f"/v1/images/{image_id}")
    assert response.status_code == 204 and response.content == b""
    assert_error(client.get(f"/v1/images/{image_id}/info"), 404, "NotFound")
    assert_error(client.delete(f"/v1/images/{image_id}"), 404, "NotFound")
    assert_error(client.delete("/v1/images/xyz"), 400, "InvalidRequest")
    assert stored_ids(client) == []


# --- authorization --------------------------------------------------------------------------------

def test_writes_need_the_bearer_key_reads_do_not(tmp_path, kinds):
    with make_client(tmp_path, api_key="s3cret") as c:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"},
                        {"Authorization": "Basic s3cret"}):
            response = upload(c, kinds["gray"], **headers)
            assert_error(response, 401, "Unauthorized")
            assert response.headers["www-authenticate"] == "Bearer"
        assert stored_ids(c) == []
        created = upload(c, kinds["gray"], Authorization="Bearer s3cret")
        assert created.status_code == 201
        image_id = created.json()["id"]
        assert c.get(f"/v1/images/{image_id}", params={"scale": 0.5}).status_code == 200
        assert_error(c.delete(f"/v1/images/{image_id}"), 401, "Unauthorized")
        assert c.delete(f"/v1/images/{image_id}", headers={"Authorization": "Bearer s3cret"}).status_code == 204


# --- operations, docs, page, failures ---------------------------------------------------------------

def test_healthz_docs_and_unknown_routes(served):
    c, _ = served
    assert c.get("/healthz").json() == {"status": "ok"}
    assert c.get("/docs").status_code == 200
    paths = c.get("/openapi.json").json()["paths"]
    assert {"/v1/images", "/v1/images/{image_id}", "/v1/images/{image_id}/info",
            "/v1/images/{image_id}/original", "/healthz", "/metrics"} <= paths.keys()
    assert_error(c.get("/nope"), 404, "NotFound")
    assert_error(c.put("/v1/images"), 405, "MethodNotAllowed")


def test_metrics_count_requests_reads_and_uploads(client, kinds):
    info = upload(client, kinds["420_q75"]).json()
    upload(client, kinds["420_q75"])
    upload(client, b"not a jpeg")
    for _ in range(3):
        client.get(f"/v1/images/{info['id']}", params={"scale": 0.1})
    client.get(f"/v1/images/{'0' * 64}")
    text = client.get("/metrics").text
    route = "/v1/images/{image_id}"
    assert metric(text, "pjstore_http_requests_total", route=route, method="GET", status="200") == 3
    assert metric(text, "pjstore_http_requests_total", route=route, method="GET", status="404") == 1
    assert metric(text, "pjstore_http_request_duration_seconds_count", route=route, method="GET") == 4
    assert metric(text, "pjstore_storage_bytes_read_total") == 3 * info["scales"][0]["offset"]
    assert metric(text, "pjstore_served_images_stored_bytes_total") == 3 * info["stored_bytes"]
    for outcome in ("created", "existing", "NotAJpeg"):
        assert metric(text, "pjstore_uploads_total", outcome=outcome) == 1


def test_page_has_the_upload_form_and_gallery(served):
    c, _ = served
    response = c.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert 'type="file"' in response.text and 'id="gallery"' in response.text and "srcset" in response.text


def test_unexpected_failures_are_500_json_without_traceback(tmp_path, kinds, monkeypatch):
    with make_client(tmp_path) as c:
        image_id = upload(c, kinds["gray"]).json()["id"]

        def broken(*args, **kwargs):
            raise RuntimeError("disk on fire at /secret/path")

        monkeypatch.setattr(c.app.state.pjstore.store, "get_range", broken)
        response = c.get(f"/v1/images/{image_id}", params={"scale": 0.5})
        assert_error(response, 500, "InternalError")
        assert "secret" not in response.text
        assert c.get(f"/v1/images/{image_id}/info").status_code == 200


def test_an_endless_upload_body_stops_being_read_at_the_limit():
    pulled = []

    async def receive():  # a client that would send forever
        pulled.append(1000)
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    request = Request({"type": "http", "method": "POST", "headers": [(b"content-type", b"image/jpeg")]}, receive)
    with pytest.raises(TooLarge):
        asyncio.run(read_upload(request, 2500))
    assert sum(pulled) == 3000


def test_settings_reach_worker_processes_through_the_environment():
    settings = ServerSettings(store="/data/s", api_key="k", max_upload_bytes=10, max_pixels=20, egress=1.5,
                              prepare_workers=3, render_threads=5, max_result_dimension=640, request_timeout=2.5,
                              render_queue=7, upload_queue=0, url_key="u", url_salt="v")
    assert ServerSettings.from_env(settings.to_env()) == settings
    assert ServerSettings.from_env({}) == ServerSettings()
