"""WebP and AVIF renditions: fetched by `format=` and by `Accept` over HTTP and with `pjstore get
--format`, each decoded by Pillow and graded by the independent oracle (conftest.served_psnr) at
the exact size, with the bytes the record promises; negotiation headers (Content-Type, Vary,
ETag, 304) and errors."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageFilter

from pjstore.fsck import verify
from pjstore.ingest import IngestOptions, ingest, prepare
from pjstore.migrate import migrate
from pjstore.offset_map import OffsetMap, ScaleOffset
from pjstore.quality.metrics import psnr
from pjstore.record import ImageRecord
from pjstore.rendition.choose import choose_encoding
from pjstore.rendition.formats import Encoding, FormatRendition, encode, parse_format
from pjstore.server.app import create_app
from pjstore.server.negotiate import accepted, negotiate
from pjstore.server.settings import ServerSettings
from pjstore.storage import LmdbStorage, open_storage

from helpers import served_psnr

REPO = Path(__file__).resolve().parents[1]
KINDS = ["420_q75", "gray", "wide_icc", "oriented_8_odd", "tiny_7x5"]
MEDIA = {"jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}
PIL_NAMES = {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}


@pytest.fixture(scope="module")
def format_store(tmp_path_factory, kinds):
    path = tmp_path_factory.mktemp("formats") / "store"
    with LmdbStorage(path) as store:
        records = {k: ingest(store, kinds[k], IngestOptions(formats=("webp", "avif")))[0] for k in KINDS}
    return path, records


def rows(doc: dict):
    return zip(doc["scales"], [*doc["thresholds"], doc["thresholds"][-1]], strict=True)


def assert_rendition(source: bytes, data: bytes, row: dict, threshold: float, fmt: str) -> None:
    assert served_psnr(source, data, row["scale"], PIL_NAMES[fmt]) >= threshold
    promised = row["served_bytes"] if fmt == "jpeg" else row["formats"][fmt]["served_bytes"]
    assert len(data) == promised, "the record promises what is sent, byte for byte"


def test_every_format_by_format_parameter_meets_the_target(format_store, kinds):
    path, records = format_store
    with TestClient(create_app(ServerSettings(store=str(path)))) as c:
        for kind, record in records.items():
            doc = c.get(f"/v1/images/{record.id}/info").json()
            for row, threshold in rows(doc):
                assert set(row["formats"]) == {"webp", "avif"}, kind
                for fmt in ("jpeg", "webp", "avif"):
                    # an explicit format wins over Accept, and the response does not vary by it
                    r = c.get(f"/v1/images/{record.id}", params={"scale": row["scale"], "format": fmt},
                              headers={"Accept": "image/avif,image/webp,*/*"})
                    assert r.status_code == 200, (kind, fmt)
                    assert r.headers["Content-Type"] == MEDIA[fmt]
                    assert "Vary" not in r.headers
                    assert int(r.headers["X-Pjstore-Bytes-Read"]) == row["offset"], "same prefix in every format"
                    assert int(r.headers["Content-Length"]) == len(r.content)
                    assert_rendition(kinds[kind], r.content, row, threshold, fmt)


@pytest.mark.parametrize(("accept", "expect"), [
    (None, "jpeg"), ("*/*", "jpeg"), ("image/*", "jpeg"), ("image/jpeg", "jpeg"),
    ("image/webp", "webp"), ("image/avif", "avif"), ("image/avif;q=0.5, image/webp", "webp"),
    ("image/webp;q=0.4, image/avif;q=0.9, */*;q=0.1", "avif"), ("image/avif;q=0, image/*", "jpeg"),
    ("image/webp;q=0.9, image/jpeg", "jpeg"), ("image/jpeg;q=0, image/webp;q=0.1", "webp"),
    ("image/png", "jpeg"), ("image/webp;q=bogus, ;;,", "jpeg"),
])
def test_accept_negotiates_the_format(format_store, kinds, accept, expect):
    path, records = format_store
    record = records["420_q75"]
    with TestClient(create_app(ServerSettings(store=str(path)))) as c:
        doc = c.get(f"/v1/images/{record.id}/info").json()
        row, threshold = next(iter(rows(doc)))
        r = c.get(row["url"], headers={"Accept": accept} if accept else {})
        assert r.status_code == 200
        assert r.headers["Content-Type"] == MEDIA[expect]
        assert r.headers["Vary"] == "Accept", "a negotiated response says what it varies by"
        assert_rendition(kinds["420_q75"], r.content, row, threshold, expect)


def test_a_browser_gets_the_smallest_format_it_accepts(format_store, kinds):
    path, records = format_store
    browser = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
    with TestClient(create_app(ServerSettings(store=str(path)))) as c:
        for kind, record in records.items():
            doc = c.get(f"/v1/images/{record.id}/info").json()
            for row, threshold in rows(doc):
                sizes = {"jpeg": row["served_bytes"]} | {f: v["served_bytes"] for f, v in row["formats"].items()}
                r = c.get(row["url"], headers={"Accept": browser})
                fmt = next(f for f, m in MEDIA.items() if m == r.headers["Content-Type"])
                assert len(r.content) == min(sizes.values()) == sizes[fmt], kind
                assert_rendition(kinds[kind], r.content, row, threshold, fmt)


def test_etags_differ_per_format_and_304_works_per_format(format_store):
    path, records = format_store
    record = records["oriented_8_odd"]
    with TestClient(create_app(ServerSettings(store=str(path)))) as c:
        tags = {}
        for fmt in ("jpeg", "webp", "avif"):
            url = f"/v1/images/{record.id}?scale=0.25&format={fmt}"
            tags[fmt] = c.get(url).headers["ETag"]
            assert c.get(url, headers={"If-None-Match": tags[fmt]}).status_code == 304
            other = next(t for f, t in tags.items() if f != fmt) if len(tags) > 1 else '"x"'
            assert c.get(url, headers={"If-None-Match": other}).status_code == 200
        assert len(set(tags.values())) == 3
        # negotiated: the ETag is the chosen representation's, and its 304 still says Vary
        negotiated = c.get(f"/v1/images/{record.id}?scale=0.25", headers={"Accept": "image/webp"})
        assert negotiated.headers["ETag"] == tags["webp"]
        r = c.get(f"/v1/images/{record.id}?scale=0.25",
                  headers={"Accept": "image/webp", "If-None-Match": tags["webp"]})
        assert r.status_code == 304 and r.headers["Vary"] == "Accept"
        assert c.get(f"/v1/images/{record.id}?scale=0.25", headers={"If-None-Match": tags["webp"]}).status_code == 200


@pytest.mark.parametrize("bad", ["gif", "png", "", "webp2", "JPEG XL"])
def test_invalid_formats_answer_400(format_store, bad):
    path, records = format_store
    with TestClient(create_app(ServerSettings(store=str(path)))) as c:
        r = c.get(f"/v1/images/{records['420_q75'].id}", params={"scale": 0.25, "format": bad})
        assert r.status_code == 400
        assert r.json()["error"] == "InvalidRequest" and "format" in r.json()["detail"]


def test_no_profile_is_attached_unless_kept(tmp_path, kinds):
    with open_storage(tmp_path / "store") as store:
        srgb, _ = ingest(store, kinds["icc"], IngestOptions(formats=("avif", "webp")))
        kept, _ = ingest(store, kinds["wide_icc"], IngestOptions(keep_profile=True, formats=("webp", "avif")))
    with TestClient(create_app(ServerSettings(store=str(tmp_path / "store")))) as c:
        for fmt in ("webp", "avif"):
            plain = c.get(f"/v1/images/{srgb.id}", params={"scale": 0.5, "format": fmt}).content
            assert not Image.open(io.BytesIO(plain)).info.get("icc_profile"), "an sRGB source's profile is dropped"
            wide = c.get(f"/v1/images/{kept.id}", params={"scale": 1, "format": fmt}).content
            assert Image.open(io.BytesIO(wide)).info.get("icc_profile"), "a kept profile travels with the pixels"


def test_sizes_between_scales_in_each_format(format_store, kinds):
    path, records = format_store
    with TestClient(create_app(ServerSettings(store=str(path)))) as c:
        for fmt in ("webp", "avif"):
            r = c.get(f"/v1/images/{records['oriented_8_odd'].id}", params={"w": 37, "format": fmt})
            assert r.status_code == 200 and r.headers["Content-Type"] == MEDIA[fmt]
            im = Image.open(io.BytesIO(r.content))
            assert im.format == PIL_NAMES[fmt] and im.size[0] == 37


def test_signed_urls_cover_the_format(format_store):
    path, records = format_store
    record = records["420_q75"]
    with TestClient(create_app(ServerSettings(store=str(path), url_key="k", url_salt="s"))) as c:
        row = c.get(f"/v1/images/{record.id}/info").json()["scales"][1]
        for fmt, url in row["format_urls"].items():
            r = c.get(url)
            assert r.status_code == 200 and r.headers["Content-Type"] == MEDIA[fmt]
        swapped = row["format_urls"]["webp"].replace("format=webp", "format=avif")
        assert c.get(swapped).status_code == 403, "a signature for webp does not serve avif"
        assert c.get(row["url"] + "&format=avif").status_code == 403, "a format cannot be added to a signed URL"


def pjstore(store: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "pjstore", "--store", str(store), *args],
                          capture_output=True, env=env)


@pytest.mark.parametrize("kind", ["420_q75", "gray"])
def test_cli_get_format(format_store, kinds, kind, tmp_path):
    path, records = format_store
    doc = json.loads(pjstore(path, "info", records[kind].id).stdout)
    for row, threshold in rows(doc):
        for fmt in ("webp", "avif"):
            out = tmp_path / f"{row['scale']}.{fmt}"
            done = pjstore(path, "get", doc["id"], "--scale", str(row["scale"]), "--format", fmt, "-o", str(out))
            assert done.returncode == 0, done.stderr
            assert_rendition(kinds[kind], out.read_bytes(), row, threshold, fmt)
    bad = pjstore(path, "get", doc["id"], "--scale", "0.25", "--format", "gif", "-o", str(tmp_path / "x"))
    assert bad.returncode == 2 and b"gif" in bad.stderr and not (tmp_path / "x").exists()


def test_records_keep_formats_and_older_rows_are_migrated(tmp_path, kinds):
    with open_storage(tmp_path / "store") as store:
        record, _ = ingest(store, kinds["420_q75"], IngestOptions(formats=()))
    assert record.current() and not record.current(("webp", "avif")), "migrate --formats adds them"
    with TestClient(create_app(ServerSettings(store=str(tmp_path / "store")))) as c:
        r = c.get(f"/v1/images/{record.id}", params={"scale": 0.25, "format": "webp"})
        assert r.status_code == 400 and "migrate" in r.json()["detail"]
        negotiated = c.get(f"/v1/images/{record.id}", params={"scale": 0.25}, headers={"Accept": "image/avif"})
        assert negotiated.headers["Content-Type"] == "image/jpeg", "no stored format: JPEG, the fallback"
    with open_storage(tmp_path / "store") as store:
        assert migrate(store).upgraded == ()
        assert migrate(store, IngestOptions(formats=("webp", "avif"))).upgraded == (record.id,)
        new = store.info(record.id)
        assert new.current(("webp", "avif")) and ImageRecord.loads(new.dumps()) == new
        assert all(e.format("webp") and e.format("avif") for e in new.offsets.entries)


# --- units -------------------------------------------------------------------------------------

def test_parse_format():
    assert [parse_format(x) for x in (None, "jpeg", "JPG", " WebP ", "avif")] == [None, "jpeg", "jpeg", "webp", "avif"]
    with pytest.raises(ValueError, match="not one of"):
        parse_format("heic")


def test_accept_parsing_respects_q_and_caps_items():
    assert accepted("image/webp;q=0.5, image/avif , */*;q=0.1") == {"image/webp": 0.5, "image/avif": 1.0, "*/*": 0.1}
    assert accepted("image/webp;q=x") == {}
    assert len(accepted(",".join(f"a/{i}" for i in range(10_000)))) <= 64


def test_negotiation_prefers_fewer_bytes_among_equal_q():
    def row(webp: int, avif: int) -> ScaleOffset:
        return ScaleOffset(1.0, 8, 8, 100, 40.0, served_bytes=500, floor_bytes=500, formats=(
            FormatRendition(Encoding("webp", 50, 4), 40.0, webp), FormatRendition(Encoding("avif", 50, 6), 40.0, avif)))
    both = "image/avif,image/webp,*/*"
    assert negotiate(both, row(300, 200)) == "avif"
    assert negotiate(both, row(200, 300)) == "webp"
    assert negotiate(both, row(600, 700)) == "jpeg", "never more bytes than the JPEG when the client takes it"
    assert negotiate("image/avif", row(600, 700)) == "avif", "JPEG not accepted: the format the client named"


def test_encoding_is_validated():
    with pytest.raises(ValueError):
        Encoding("jpeg", 50, 4)
    with pytest.raises(ValueError):
        Encoding("webp", 50, 4, "4:4:4")
    with pytest.raises(ValueError):
        Encoding("avif", 50, 11)
    with pytest.raises(ValueError):
        Encoding("avif", 50, 6, lossless=True)
    with pytest.raises(ValueError):
        Encoding("webp", 50, 4, tune="psnr")
    with pytest.raises(ValueError):
        Encoding("avif", 50, 6, tune="butteraugli")
    with pytest.raises(ValueError):
        Encoding("avif", 50, 6, passes=1)
    with pytest.raises(ValueError):
        Encoding("webp", 100, 4, lossless=True, passes=1)
    tuned = Encoding("avif", 40, 8, "4:4:4", tune="psnr")
    assert Encoding.from_json(tuned.to_json()) == tuned
    fed = Encoding("webp", 97, 4, passes=1)
    assert Encoding.from_json(fed.to_json()) == fed
    with pytest.raises(ValueError):
        Encoding("webp", 90, 4, step=8)
    with pytest.raises(ValueError):
        Encoding("webp", 100, 4, lossless=True, step=7)
    near = Encoding("webp", 100, 4, lossless=True, step=8)
    assert Encoding.from_json(near.to_json()) == near


def test_records_written_before_tune_still_read_and_render_as_made():
    """An Encoding stored before `tune` existed reads as libavif's default tune, and renders the
    bytes it was verified with (no aom option given)."""
    old = {"format": "avif", "quality": 40, "effort": 6, "subsampling": "4:2:0", "lossless": False}
    assert Encoding.from_json(old) == Encoding("avif", 40, 6)
    image = Image.linear_gradient("L").resize((64, 48)).convert("RGB")
    plain = io.BytesIO()
    image.save(plain, "AVIF", quality=40, speed=6, subsampling="4:2:0", icc_profile=b"", exif=b"")
    assert encode(image, Encoding.from_json(old)) == plain.getvalue()


def saturated_edges() -> Image.Image:
    cells = np.kron(np.random.default_rng(7).random((20, 28)) < 0.5, np.ones((2, 2)))[..., None] > 0
    image = Image.fromarray(np.where(cells, [230, 20, 40], [20, 40, 230]).astype(np.uint8))
    return image.filter(ImageFilter.GaussianBlur(0.7))


def exact_grade(image: Image.Image):
    pixels = np.asarray(image)
    return lambda data: psnr(pixels, np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))


def test_webp_error_feedback_is_tried_where_plain_webp_misses():
    """Saturated colour edges with some noise: 4:2:0 WebP loses dB that no quality recovers; one
    error-feedback pass recovers some. Just below what feedback reaches (where rounded lossless costs
    more), the search keeps a lossy WebP with feedback, it meets the threshold, and encoding again
    gives the same bytes."""
    edges = np.asarray(saturated_edges().resize((112, 80), Image.NEAREST).filter(ImageFilter.GaussianBlur(1)), float)
    noisy = edges + np.random.default_rng(1).normal(0, 3, edges.shape)
    image = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    grade = exact_grade(image)
    plain, fed = (grade(encode(image, Encoding("webp", 100, 4, passes=n))) for n in (0, 1))
    assert fed > plain + 1
    chosen = choose_encoding(image, None, "webp", grade, fed - 0.5)
    assert chosen.encoding.passes == 1 and not chosen.encoding.lossless and chosen.score >= fed - 0.5
    assert encode(image, chosen.encoding) == encode(image, chosen.encoding)


def test_lossless_webp_of_rounded_pixels_where_no_lossy_webp_meets_the_threshold():
    """Above what any lossy WebP reaches, the coarsest rounding whose lossless WebP meets the
    threshold is kept: fewer bytes than exact lossless, and it decodes to >= the threshold."""
    image, grade = saturated_edges(), exact_grade(saturated_edges())
    threshold = grade(encode(image, Encoding("webp", 100, 4, passes=1))) + 4
    chosen = choose_encoding(image, None, "webp", grade, threshold)
    assert chosen.encoding.lossless and chosen.encoding.step > 1 and chosen.score >= threshold
    assert chosen.served_bytes < len(encode(image, Encoding("webp", 100, 4, lossless=True)))
    assert grade(encode(image, chosen.encoding)) == chosen.score


def test_new_avif_renditions_are_tuned_for_psnr(kinds):
    """The contract grades PSNR, so AVIF is searched with aom's tune=psnr (fewer bytes at the
    threshold than libavif's perceptual default); every row records it and meets the threshold."""
    p = prepare(kinds["420_q75"], IngestOptions(formats=("avif",)))
    thresholds = (*p.record.thresholds, p.record.thresholds[-1])
    for row, threshold in zip(p.record.offsets.entries, thresholds, strict=True):
        avif = row.format("avif")
        assert avif is not None and avif.encoding.tune == "psnr" and avif.score >= threshold


def test_fsck_renders_every_format(kinds):
    p = prepare(kinds["444_q95"], IngestOptions(formats=("webp", "avif")))
    assert verify(p.record, p.blob) is None
    entries = p.record.offsets.entries
    webp = entries[1].format("webp")
    wrong = dataclasses.replace(webp, encoding=dataclasses.replace(webp.encoding, quality=webp.encoding.quality - 10))
    others = tuple(f for f in entries[1].formats if f is not webp)
    tampered = OffsetMap(p.record.offsets.metric,
                         (entries[0], dataclasses.replace(entries[1], formats=(wrong, *others)), *entries[2:]))
    problem = verify(dataclasses.replace(p.record, offsets=tampered), p.blob)
    assert problem is not None and problem.kind == "bad-offsets" and "as webp" in problem.detail
