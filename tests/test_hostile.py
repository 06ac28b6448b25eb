"""Hostile input costs little: each file here is built from bytes to cost a careless reader
seconds to hours of CPU or megabytes of egress, and must instead get a typed refusal (4xx) or a
bounded, correct result in well under a second of CPU, with nothing partial stored. The command
line cases run the real `pjstore` command in a subprocess."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image

from pjstore.encoder import coefficients
from pjstore.encoder.structure import parse
from pjstore.errors import ConfigError, PjstoreError, StorageError, TooLarge
from pjstore.ingest import IngestOptions, prepare
from pjstore.quality.contract import QualityTarget
from pjstore.samples import encode
from pjstore.server.settings import ServerSettings
from pjstore.storage import LmdbStorage, open_storage

from edge_cases import ICC, after_soi, icc_chunks, icc_sent, segment, with_icc
from helpers import (
    assert_error,
    assert_lossless,
    cli,
    cli_env,
    crop,
    ingest_json,
    make_client,
    srgb_icc,
    stored_ids,
    upload,
)

REPO = Path(__file__).resolve().parents[1]
EOI = b"\xff\xd9"


# --- building hostile files ---------------------------------------------------------------------

def ff_run_in_first_scan(jpeg: bytes, run: int) -> bytes:
    """A run of 0xFF fill bytes, then a stuffed zero, 200 bytes into the first scan's data."""
    first = parse(jpeg).scans[0]
    header = int.from_bytes(jpeg[first.sos_offset + 2:first.sos_offset + 4], "big")
    at = first.sos_offset + 2 + header + 200
    return jpeg[:at] + b"\xff" * run + b"\x00" + jpeg[at:]


def repeated_scan(jpeg: bytes, which: int, times: int) -> bytes:
    """A progressive file whose scan `which` (with any tables before it) is sent `times` more
    times before EOI: every copy is another pass over all the coefficients for a decoder."""
    s = parse(jpeg)
    start = s.scans[which - 1].data_end if which else s.scans[which].sos_offset
    scan = jpeg[start:s.scans[which].data_end]
    return jpeg[:s.scans[-1].data_end] + scan * times + EOI


def flat_progressive(side: int) -> bytes:
    """A flat grey progressive JPEG: its refinement scans are a few bytes each, so thousands of
    copies make a small upload."""
    out = io.BytesIO()
    Image.new("L", (side, side), 128).save(out, "JPEG", quality=90, progressive=True)
    return out.getvalue()


def cpu_seconds(call) -> tuple[object, float]:
    """`call()`'s result (or the exception it raised) and the CPU it took, children included."""
    before = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        result = call()
    except Exception as exc:  # noqa: BLE001 - returned for the caller to assert on
        result = exc
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    children = after.ru_utime - before[1].ru_utime + after.ru_stime - before[1].ru_stime
    return result, time.process_time() - before[0] + children


@pytest.fixture(scope="module")
def photo() -> bytes:
    return encode(crop("astronaut", 240, 200), 75, "4:2:0")


@pytest.fixture(scope="module")
def one_image(tmp_path_factory, photo):
    """One server for the tests that need only a client, holding `photo`: (client, its info)."""
    with make_client(tmp_path_factory.mktemp("hostile")) as c:
        response = upload(c, photo)
        assert response.status_code == 201
        yield c, response.json()


# --- the parser is linear; caps are checked before any pixel is decoded -------------------------

def test_a_long_fill_run_parses_in_linear_time(photo):
    # 50,000 fill bytes: the old backtracking search took about 8 s on this (3 s at 30,000).
    hostile = ff_run_in_first_scan(photo, 50_000)
    structure, cpu = cpu_seconds(lambda: parse(hostile))
    assert cpu < 0.2, f"{cpu:.2f} s of CPU to parse {len(hostile)} bytes"
    assert structure.scan_ends[0] == parse(photo).scan_ends[0] + 50_001  # the run is scan data, not its end
    result, cpu = cpu_seconds(lambda: prepare(hostile))
    assert cpu < 1.0
    if not isinstance(result, Exception):
        assert_lossless(hostile, result.blob)
    else:
        assert type(result).__name__ == "CorruptJpeg"  # jpegtran: the stuffed zero breaks the scan


def test_fill_before_a_marker_is_not_scan_data(photo):
    s = parse(photo)
    padded = photo[:s.scans[0].data_end] + b"\xff" * 1000 + photo[s.scans[0].data_end:]
    assert parse(padded).scan_ends == s.scan_ends  # the fill run is skipped, the scan ends where it did


@pytest.mark.parametrize("which", [-1, 1])  # the last AC refinement scan; a first-pass AC scan
def test_repeated_scans_are_refused_before_decoding(one_image, which):
    hostile = repeated_scan(flat_progressive(2048), which, 3000)
    assert len(hostile) < 400_000
    result, cpu = cpu_seconds(lambda: prepare(hostile))
    assert isinstance(result, TooLarge) and "scans" in str(result)
    assert cpu < 0.3, f"{cpu:.2f} s of CPU: the cap must act before the decoder"
    c, info = one_image
    before = stored_ids(c)
    assert_error(upload(c, hostile), 413, "TooLarge")
    assert stored_ids(c) == before


def test_the_scan_cap_is_configurable_and_admits_pjstore_files(photo):
    stored = prepare(photo).blob
    assert len(parse(stored).scans) <= 100
    prepare(stored)  # re-ingesting what pjstore wrote stays possible under the default cap
    with pytest.raises(TooLarge):
        prepare(stored, IngestOptions(max_scans=len(parse(stored).scans) - 1))


def test_too_many_app_segments_are_refused_before_decoding(tmp_path, photo):
    hostile = after_soi(photo, segment(0xEC, b"x") * 600)
    result, cpu = cpu_seconds(lambda: prepare(hostile))
    assert isinstance(result, TooLarge) and cpu < 0.3
    assert prepare(after_soi(photo, segment(0xEC, b"x") * 400)).record.width == 240  # under the cap: fine


def test_the_caps_are_options_of_ingest_and_serve(tmp_path, photo):
    """The same rows of the settings table make `ingest`'s options and `serve`'s settings."""
    stored = prepare(photo).blob
    scans = len(parse(stored).scans)
    crowded = after_soi(photo, segment(0xEC, b"x") * 20)
    profiled = with_icc(photo, [(1, 1, srgb_icc())])
    files = {"stored": stored, "crowded": crowded, "profiled": profiled}
    for name, data in files.items():
        (tmp_path / f"{name}.jpg").write_bytes(data)
    args = ["--max-source-scans", str(scans - 1), "--max-app-segments", "10", "--max-icc-bytes", "100"]
    result, rows = ingest_json(tmp_path / "cli", *(str(tmp_path / f"{n}.jpg") for n in files), *args)
    by_name = {Path(r["path"]).stem: r for r in rows}
    assert by_name["stored"]["error_type"] == by_name["crowded"]["error_type"] == "TooLarge"
    assert by_name["profiled"]["created"] and any("ICC" in w for w in by_name["profiled"]["warnings"])
    env = {"PJSTORE_MAX_SOURCE_SCANS": str(scans - 1), "PJSTORE_MAX_APP_SEGMENTS": "10", "PJSTORE_MAX_ICC_BYTES": "100"}
    settings = ServerSettings.from_env(env)
    options = settings.ingest_options
    assert (options.max_scans, options.max_app_segments, options.max_icc_bytes) == (scans - 1, 10, 100)
    with make_client(tmp_path / "http", **{k: getattr(settings, k) for k in ("max_source_scans", "max_app_segments",
                                                                         "max_icc_bytes")}) as c:
        assert_error(upload(c, stored), 413, "TooLarge")
        assert_error(upload(c, crowded), 413, "TooLarge")
        assert upload(c, profiled).json()["warnings"]
    for bad in ({"max_source_scans": 0}, {"max_app_segments": 0}, {"max_icc_bytes": -1}):
        with pytest.raises(ConfigError):
            ServerSettings(**bad)
    for bad_args in (["--max-source-scans", "0"], ["--max-app-segments", "0"], ["--max-icc-bytes", "-1"],
                     ["--accept-damaged", "--contract", "prefix"]):
        refused = subprocess.run(cli(tmp_path / "refused", str(tmp_path / "crowded.jpg"), *bad_args), env=cli_env(),
                                 capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
        assert "Error:" in refused.stderr, refused.stderr
    assert not (tmp_path / "refused").exists(), "a refused command makes no store"


# --- ICC profiles: capped, repaired or dropped, never a reason to refuse -------------------------

def test_a_huge_icc_profile_is_dropped_and_never_served(tmp_path, photo):
    rng = np.random.default_rng(7)
    chunks = [(i, 255, rng.bytes(65519)) for i in range(1, 256)]  # 255 chunks: 16.7 MB
    hostile = with_icc(photo, chunks)
    assert len(hostile) > 16_000_000
    result, cpu = cpu_seconds(lambda: prepare(hostile))
    assert cpu < 1.0
    assert result.record.warnings and result.record.warnings[0].startswith("IccDropped")
    assert len(result.blob) < 2 * len(photo)
    with make_client(tmp_path) as c:
        response = upload(c, hostile)
        assert response.status_code == 201, response.text
        assert response.json()["warnings"][0].startswith("IccDropped")
        image_id = response.json()["id"]
        for params in ({"w": 1}, {"scale": 0.1}, {}):
            served = c.get(f"/v1/images/{image_id}", params=params)
            assert served.status_code == 200
            assert len(served.content) < 2 * len(photo)
            assert "icc_profile" not in Image.open(io.BytesIO(served.content)).info
        original = c.get(f"/v1/images/{image_id}/original").content
        assert len(original) < 2 * len(photo)
        # 256 chunks (a sequence number cannot count that far) once answered 500
        assert upload(c, with_icc(photo, chunks + [(0, 255, b"x")])).status_code == 201


def test_the_icc_cap_is_configurable(photo):
    profile = srgb_icc()
    sourced = with_icc(photo, [(1, 1, profile)])
    assert prepare(sourced).record.warnings == ()
    dropped = prepare(sourced, IngestOptions(max_icc_bytes=len(profile) - 1))
    assert dropped.record.warnings[0].startswith("IccDropped") and ICC not in dropped.blob


def _stored_icc(blob: bytes) -> bytes | None:
    return Image.open(io.BytesIO(blob)).info.get("icc_profile")


def test_chunks_out_of_order_are_reassembled(one_image, photo):
    profile = srgb_icc()
    pieces = icc_chunks(profile, 4)
    shuffled = [(seq, 4, pieces[seq - 1]) for seq in (3, 1, 4, 2)]
    c, _ = one_image
    response = upload(c, with_icc(photo, shuffled))
    assert response.status_code == 201, response.text
    assert response.json()["warnings"][0].startswith("IccRepaired")
    original = c.get(f"/v1/images/{response.json()['id']}/original").content
    assert _stored_icc(original) == profile


@pytest.mark.parametrize("fault", ["count_mismatch", "duplicate", "sequence_zero", "missing", "sequence_over_count"])
def test_malformed_icc_sequences_keep_the_image_and_say_so(one_image, photo, fault):
    hostile = with_icc(photo, icc_sent(fault))
    c, _ = one_image
    response = upload(c, hostile)
    assert response.status_code == 201, response.text
    warnings = response.json()["warnings"]
    assert len(warnings) == 1 and warnings[0].startswith("IccDropped: malformed ICC chunk sequence")
    image_id = response.json()["id"]
    assert c.get(f"/v1/images/{image_id}/info").json()["warnings"] == warnings
    original = c.get(f"/v1/images/{image_id}/original").content
    assert _stored_icc(original) is None
    assert_lossless(hostile, original)


def test_a_1x1_quality_100_grey_image_with_an_srgb_profile_is_stored():
    # The model's running squared error dipped below zero on this one: "math domain error".
    out = io.BytesIO()
    Image.new("L", (1, 1), 136).save(out, "JPEG", quality=100, icc_profile=srgb_icc())
    p = prepare(out.getvalue())
    assert p.record.width == p.record.height == 1 and p.record.warnings == ()
    assert_lossless(out.getvalue(), p.blob)


@pytest.mark.parametrize("exif", [
    b"XX\x00\x2a\x00\x00\x00\x08",  # not a TIFF header
    b"MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x09\x00\x00",  # orientation 9
])
def test_damaged_exif_is_dropped_with_a_warning(photo, exif):
    p = prepare(after_soi(photo, segment(0xE1, b"Exif\x00\x00" + exif)))
    assert p.record.orientation == 1 and p.record.warnings[0].startswith("ExifDropped")


@pytest.mark.skipif(shutil.which("cjpeg") is None, reason="cjpeg (libjpeg-turbo-progs) not installed")
@pytest.mark.parametrize("luma", ["3x3", "4x4"])
def test_non_interleaved_3x3_and_4x4_sampling_is_stored(tmp_path, luma):
    # Valid only non-interleaved (an interleaved MCU would exceed 10 blocks); jpegtran's
    # sequential copy for the scan search needs one scan per component then.
    Image.fromarray(crop("astronaut", 120, 96)).save(tmp_path / "a.ppm")
    (tmp_path / "scans").write_text("0;\n1;\n2;\n")
    source = subprocess.run(["cjpeg", "-sample", f"{luma},1x1,1x1", "-scans", str(tmp_path / "scans"),
                             str(tmp_path / "a.ppm")], capture_output=True, check=True).stdout
    assert len(parse(source).scans) == 3 and parse(source).frame.sampling[0] == (int(luma[0]),) * 2
    p = prepare(source)
    # Not test_ingest's check: it makes jpegtran's interleaved sequential copy, which cannot exist here.
    for a, b in zip(coefficients.read(source).components, coefficients.read(p.blob).components, strict=True):
        assert np.array_equal(a.coefficients, b.coefficients) and np.array_equal(a.quant, b.quant)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(source))), np.asarray(Image.open(io.BytesIO(p.blob))))


# --- the HTTP layer ---------------------------------------------------------------------------

def test_huge_range_numbers_are_answered_not_crashed_on(one_image):
    c, info = one_image
    url, size = f"/v1/images/{info['id']}/original", info["stored_bytes"]
    huge = "9" * 4300
    whole = c.get(url, headers={"Range": f"bytes=0-{huge}"})
    assert whole.status_code == 206 and len(whole.content) == size
    assert whole.headers["Content-Range"] == f"bytes 0-{size - 1}/{size}"
    assert_error(c.get(url, headers={"Range": f"bytes={huge}-"}), 416, "RangeNotSatisfiable")
    assert_error(c.get(url, headers={"Range": f"bytes={huge}-{huge}0"}), 416, "RangeNotSatisfiable")
    suffix = c.get(url, headers={"Range": f"bytes=-{huge}"})
    assert suffix.status_code == 206 and len(suffix.content) == size
    padded = c.get(url, headers={"Range": f"bytes={'0' * 40}5-{'0' * 40}9"})
    assert padded.status_code == 206 and padded.content == whole.content[5:10]


@pytest.mark.parametrize("query", ["scale=0.1&scale=0.5", "w=10&w=20", "w=10&h=10&w=10"])
def test_repeated_query_parameters_are_400(one_image, query):
    c, info = one_image
    assert_error(c.get(f"/v1/images/{info['id']}?{query}"), 400, "InvalidRequest")


def test_repeated_list_parameters_are_400(one_image):
    c, _ = one_image
    assert_error(c.get("/v1/images?limit=1&limit=2"), 400, "InvalidRequest")


def _spawned() -> set[psutil.Process]:
    return {p for p in psutil.Process().children(recursive=True) if any("spawn_main" in part for part in p.cmdline())}


def test_a_killed_idle_upload_worker_is_replaced_before_the_next_upload(tmp_path, kinds):
    others = _spawned()  # other fixtures' pools are left alone
    with make_client(tmp_path) as c:
        assert upload(c, kinds["420_q75"]).status_code == 201
        workers = list(_spawned() - others)
        assert workers, "the upload pool has a process"
        for worker in workers:
            worker.send_signal(signal.SIGKILL)
        psutil.wait_procs(workers, timeout=10)
        response = upload(c, kinds["gray"])
        assert response.status_code == 201, response.text
        assert len(stored_ids(c)) == 2 and response.json()["id"] in stored_ids(c)
        served = c.get(f"/v1/images/{response.json()['id']}", params={"scale": 0.5})
        assert served.status_code == 200


# --- options validated where they are read ------------------------------------------------------

@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_thresholds_are_refused(bad):
    with pytest.raises(ValueError, match="finite"):
        QualityTarget((0.1, 0.5), (32.0, bad))


@pytest.mark.parametrize("key", ["api_key", "url_key"])
def test_empty_keys_are_refused_not_taken_as_open(key):
    with pytest.raises(ConfigError, match=key):
        ServerSettings(**{key: ""})
    assert ServerSettings(**{key: None}).signer is None  # unset stays "no key"


# --- stores: read-only, growing, mapped errors --------------------------------------------------

def _snapshot(directory: Path) -> dict[str, tuple[int, str, int] | None]:
    """Every file's name; the data file's size, hash and mtime. (LMDB readers record themselves
    in an existing lock file, the shared memory that keeps their reads consistent with writers.)"""
    return {p.name: (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            if p.name != "lock.mdb" else None for p in sorted(directory.iterdir())}


@pytest.fixture
def filled_store(tmp_path, kinds) -> tuple[Path, str]:
    path = tmp_path / "store"
    with LmdbStorage(path) as store:
        p = prepare(kinds["tiny_7x5"])
        store.put(p.record, p.blob)
    return path, p.record.id


@pytest.mark.parametrize("lock_file", [True, False])
def test_a_store_opened_read_only_writes_nothing(filled_store, lock_file):
    path, image_id = filled_store
    if not lock_file:  # a copied store: reading must not create one
        (path / "lock.mdb").unlink()
    before = _snapshot(path)
    with open_storage(path, readonly=True) as store:
        assert store.list() == [image_id]
        record = store.info(image_id)
        assert store.get_range(image_id, 0, 4)[:2] == b"\xff\xd8"
        with pytest.raises(StorageError, match="read-only"):
            store.put(dataclasses.replace(record, id="0" * 64), b"x")
        with pytest.raises(StorageError, match="read-only"):
            store.delete(image_id)
    assert _snapshot(path) == before


def test_a_missing_store_opened_read_only_is_an_error_and_not_created(tmp_path):
    with pytest.raises(PjstoreError, match="no store"):  # typed, naming the path
        open_storage(tmp_path / "absent", readonly=True)
    assert not (tmp_path / "absent").exists()


def test_a_store_that_refuses_a_write_fails_that_file_not_the_batch(filled_store, tmp_path, kinds):
    from pjstore.batch.loop import run_batch
    from pjstore.batch.outcome import Status
    from pjstore.batch.pool import LocalPool

    path, image_id = filled_store
    files = [tmp_path / "a.jpg", tmp_path / "b.jpg"]
    files[0].write_bytes(kinds["gray"])
    files[1].write_bytes(kinds["tiny_1x1"])
    outcomes = []
    with open_storage(path, readonly=True) as store, LocalPool(1) as runner:
        summary = run_batch(store, files, IngestOptions(), runner, outcomes.append)
        assert store.list() == [image_id]
    assert [o.status for o in outcomes] == [Status.FAILED, Status.FAILED] and not summary.interrupted
    assert all(isinstance(o.error, StorageError) for o in outcomes)


def test_the_map_grows_on_demand(tmp_path, kinds):
    record = prepare(kinds["tiny_7x5"]).record
    rng = np.random.default_rng(1)
    blobs = {f"{i:064x}": rng.bytes(400_000) for i in range(8)}  # 3.2 MB into a 1 MiB map
    with LmdbStorage(tmp_path / "store", map_size=1 << 20) as store:
        for image_id, blob in blobs.items():
            assert store.put(dataclasses.replace(record, id=image_id), blob)
        assert store.list() == sorted(blobs)
        assert all(store.get_range(i, 0, 400_000) == b for i, b in blobs.items())


GROW_ELSEWHERE = """
import dataclasses, sys
from pjstore.record import ImageRecord
from pjstore.storage import LmdbStorage
record = ImageRecord.loads(open(sys.argv[2], "rb").read())
with LmdbStorage(sys.argv[1], map_size=1 << 20) as store:
    store.put(dataclasses.replace(record, id="f" * 64), bytes(range(256)) * 20_000)
"""


def test_a_map_another_process_grew_is_adopted(tmp_path, kinds):
    record = prepare(kinds["tiny_7x5"]).record
    (tmp_path / "record.json").write_bytes(record.dumps())
    with LmdbStorage(tmp_path / "store", map_size=1 << 20) as store:
        assert store.list() == []
        subprocess.run([sys.executable, "-c", GROW_ELSEWHERE, str(tmp_path / "store"), str(tmp_path / "record.json")],
                       env={**os.environ, "PYTHONPATH": str(REPO)}, check=True, timeout=60)
        assert store.list() == ["f" * 64]
        assert store.get_range("f" * 64, 0, 5_120_000) == bytes(range(256)) * 20_000


def test_s3_failures_are_storage_errors(s3_server, s3_location):
    from botocore.config import Config

    from pjstore.storage.s3_store import S3Storage

    missing = S3Storage.from_url("s3://no-such-bucket-here/x")
    with pytest.raises(StorageError, match="no-such-bucket-here"):
        missing.list()
    unreachable = S3Storage.from_url(s3_location, endpoint_url=f"http://127.0.0.1:{_closed_port()}",
                                     config=Config(retries={"max_attempts": 1}, connect_timeout=2))
    with pytest.raises(StorageError):
        unreachable.info("0" * 64)
    with pytest.raises(StorageError, match="read-only"):
        S3Storage.from_url(s3_location, readonly=True).delete("0" * 64)


def _closed_port() -> int:
    from serving import free_port

    return free_port()


# --- through the `pjstore` command -------------------------------------------------------------

def pjstore(*args: str, timeout: float = 60, **options) -> tuple[subprocess.CompletedProcess, float]:
    """Run `python -m pjstore ARGS` and return it with the CPU it took (its children included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-m", "pjstore", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(REPO)}, **options)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return done, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


@pytest.fixture(scope="module")
def startup_cpu() -> float:
    """The CPU of a command that does nothing: interpreter start and imports."""
    return pjstore("--help")[1]


def assert_one_error_line(done: subprocess.CompletedProcess, *phrases: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith(("error:", "Error:", "FAIL"))]
    assert errors, done.stderr
    for phrase in phrases:
        assert phrase in done.stderr, done.stderr


def test_ingest_refuses_a_fifo_and_dev_zero_without_reading_them(tmp_path, startup_cpu, kinds):
    fifo = tmp_path / "upload.jpg"
    os.mkfifo(fifo)
    good = tmp_path / "good.jpg"
    good.write_bytes(kinds["tiny_7x5"])
    store = tmp_path / "store"
    done, cpu = pjstore("--store", str(store), "ingest", str(fifo), "/dev/zero", str(good), "--workers", "1",
                        "--json", timeout=120)
    assert done.returncode == 1, done.stderr
    rows = {Path(r["path"]).name: r for r in map(json.loads, done.stdout.splitlines())}
    assert "FIFO" in rows["upload.jpg"]["error"] and str(fifo) in rows["upload.jpg"]["error"]
    assert "character device" in rows["zero"]["error"] and "/dev/zero" in rows["zero"]["error"]
    assert rows["good.jpg"]["created"]  # the batch went on
    listed, _ = pjstore("--store", str(store), "ls")
    assert listed.stdout.split() == [rows["good.jpg"]["id"]]
    assert cpu - startup_cpu < 8, f"{cpu:.1f} s of CPU"  # one tiny ingest in a spawned worker, nothing read


def test_ingest_reads_at_most_the_limit_plus_one(tmp_path):
    big = tmp_path / "big.jpg"
    with open(big, "wb") as fh:  # sparse: 600 MB that cost no disk
        fh.truncate(600_000_000)
    # A bare Python runs the command and reports the peak of its own children alone.
    peak = "import resource, subprocess, sys; subprocess.run(sys.argv[1:]); " \
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    done = subprocess.run([sys.executable, "-S", "-c", peak, sys.executable, "-m", "pjstore", "--store",
                           str(tmp_path / "store"), "ingest", str(big), "--workers", "1"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "TooLarge" in done.stderr and str(big) in done.stderr and "Traceback" not in done.stderr
    assert int(done.stdout.split()[-1]) < 300_000  # KiB: the 600 MB are never in memory


@pytest.mark.parametrize("command", [["ls"], ["ls", "-l"], ["info", "abcdef12"], ["export", "abcdef12", "-o", "x"]])
def test_read_commands_on_a_missing_store_fail_and_create_nothing(tmp_path, command):
    store = tmp_path / "absent"
    done, _ = pjstore("--store", str(store), *command, cwd=tmp_path)
    assert_one_error_line(done, "no store", str(store))
    assert not store.exists()


def test_bad_options_are_refused_before_anything_is_stored(tmp_path, kinds):
    source = tmp_path / "a.jpg"
    source.write_bytes(kinds["tiny_7x5"])
    done, _ = pjstore("--store", str(tmp_path / "store"), "ingest", str(source), "--threshold", "nan")
    assert done.returncode == 2 and "finite" in done.stderr
    assert not (tmp_path / "store").exists()
    for option in ("--api-key", "--url-key"):
        done, _ = pjstore("--store", str(tmp_path / "store"), "serve", option, "", "--port", "1")
        assert done.returncode == 2 and "empty" in done.stderr and "Traceback" not in done.stderr


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (8_000_000 * 1024, 8_000_000 * 1024))  # `ulimit -v 8000000`


def test_read_commands_work_under_an_address_space_limit(filled_store):
    path, image_id = filled_store
    done, _ = pjstore("--store", str(path), "ls", preexec_fn=_limit_address_space)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [image_id]


def _can_bind_mount() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_bind_mount(), reason="needs root and mount namespaces (unshare -m)")
def test_read_commands_work_on_a_read_only_mount(filled_store, tmp_path):
    path, image_id = filled_store
    before = _snapshot(path)
    command = f"{sys.executable} -m pjstore --store {path}"
    script = (f"mount --bind {path} {path} && mount -o remount,ro,bind {path} && "
              f"{command} ls && {command} info {image_id[:8]} && "
              f"{command} get {image_id} --scale 0.5 -o {tmp_path / 'half.jpg'} && "
              f"{{ {command} rm {image_id}; echo rm-exit=$?; }}")
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == image_id
    info = json.loads(done.stdout[done.stdout.index("{"):done.stdout.rindex("}") + 1])
    assert info["id"] == image_id
    half = next(row for row in info["scales"] if row["scale"] == 0.5)
    assert Image.open(tmp_path / "half.jpg").size == (half["width"], half["height"])
    assert "rm-exit=1" in done.stdout and "Traceback" not in done.stderr  # writing there: one error line
    assert _snapshot(path) == before
