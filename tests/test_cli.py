"""The command line: batch ingest that reports and skips bad files, every subcommand, and one
clear `error:` line (never a traceback, nothing created or overwritten) for each mistake a
newcomer makes, checked through the `pjstore` command itself in a subprocess."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from pjstore import ids
from pjstore.cli import main, serving
from pjstore.scan_search.options import SearchOptions
from pjstore.server.settings import SETTINGS, ServerSettings

REPO = Path(__file__).resolve().parents[1]


def run(tmp_path, *args, env=None):
    return CliRunner(env=env).invoke(main, ["--store", str(tmp_path / "store"), *args])


def pjstore(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The `pjstore` command as a user runs it (this checkout's code), in its own process."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    environment.pop("PJSTORE_STORE", None)
    return subprocess.run([sys.executable, "-m", "pjstore", *args], capture_output=True, text=True, env=environment,
                          cwd=cwd, timeout=300)


def assert_one_error_line(result: subprocess.CompletedProcess) -> str:
    """Non-zero exit, no traceback, and the problem said in one `error:` line on stderr."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def corpus(tmp_path, kinds):
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    (d / "a.jpg").write_bytes(kinds["420_q75"])
    (d / "sub" / "b.JPEG").write_bytes(kinds["gray"])
    (d / "broken.jpg").write_bytes(kinds["420_q75"][:3000])
    (d / "notes.txt").write_text("not an image, not named like one: left out, and said so")
    return d


def test_ingest_reports_and_skips_bad_files(tmp_path, kinds):
    result = run(tmp_path, "ingest", str(corpus(tmp_path, kinds)), "--json")
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 3
    by_name = {r["path"].rsplit("/", 1)[-1]: r for r in rows}
    assert by_name["broken.jpg"]["error_type"] == "TruncatedJpeg"
    for name in ("a.jpg", "b.JPEG"):
        assert len(by_name[name]["id"]) == 64 and by_name[name]["created"]
    assert ".txt" in result.stderr  # the file left out is counted, not passed over in silence
    listed = run(tmp_path, "ls").stdout.split()
    assert sorted(listed) == sorted(by_name[n]["id"] for n in ("a.jpg", "b.JPEG"))
    again = run(tmp_path, "ingest", str(tmp_path / "in" / "a.jpg"), "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["created"] is False


def test_info_get_export_rm(tmp_path, kinds):
    src = tmp_path / "a.jpg"
    src.write_bytes(kinds["420_q75"])
    image_id = json.loads(run(tmp_path, "ingest", str(src), "--json", "--scales", "0.1,0.5").stdout)["id"]
    info = json.loads(run(tmp_path, "info", image_id[:10]).stdout)
    assert {"id", "width", "height", "source_bytes", "stored_bytes", "scheme", "scans", "scales"} <= info.keys()
    assert [s["scale"] for s in info["scales"]] == [0.1, 0.5, 1.0]
    assert {"scale", "width", "height", "offset", "psnr"} <= info["scales"][0].keys()
    out = tmp_path / "small.jpg"
    result = run(tmp_path, "get", image_id, "--scale", "0.1", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (24, 20)
    assert run(tmp_path, "get", image_id, "--scale", "0.25", "-o", str(tmp_path / "other.jpg")).exit_code == 2
    exported = tmp_path / "stored.jpg"
    assert run(tmp_path, "export", image_id, "-o", str(exported)).exit_code == 0
    assert exported.stat().st_size == info["stored_bytes"]
    assert Image.open(io.BytesIO(exported.read_bytes())).size == (240, 200)
    assert run(tmp_path, "rm", image_id).exit_code == 0
    assert run(tmp_path, "info", image_id).exit_code == 2


def test_bad_options_are_refused(tmp_path, kinds):
    src = tmp_path / "a.jpg"
    src.write_bytes(kinds["420_q75"])
    assert run(tmp_path, "ingest", str(src), "--scales", "0.5,0.1").exit_code == 2
    assert run(tmp_path, "ingest", str(src), "--threshold", "abc").exit_code == 2
    assert run(tmp_path, "ingest", str(src), "--c-depth", "0").exit_code == 2  # SearchOptions refuses it
    for formats in ("gif", "webp,jpeg", "webp,,bmp"):
        result = run(tmp_path, "ingest", str(src), "--formats", formats)
        assert result.exit_code == 2 and "--formats" in result.output, formats
    assert run(tmp_path, "migrate", "--formats", "gif").exit_code == 2
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("text", ["gif", "jpeg", "webp,png"])
def test_unknown_upload_formats_are_a_settings_error(text):
    from pjstore.server.settings import SettingsError

    with pytest.raises(SettingsError, match="PJSTORE_FORMATS"):
        ServerSettings.from_env({"PJSTORE_FORMATS": text})
    assert ServerSettings.from_env({"PJSTORE_FORMATS": " WebP , avif,webp"}).formats == ("webp", "avif")


def test_search_options_reach_ingest(tmp_path, kinds, monkeypatch):
    from pjstore.batch.summary import Summary
    from pjstore.cli import store_commands

    seen = []

    def run_batch(store, files, options, *rest):
        seen.append(options)
        return Summary(ok=0, failed=0, skipped=1, bytes_in=0, bytes_stored=0, read_fractions=(), seconds=0.0)

    monkeypatch.setattr(store_commands, "run_batch", run_batch)
    src = tmp_path / "a.jpg"
    src.write_bytes(kinds["420_q75"])
    result = run(tmp_path, "ingest", str(src), "--max-scans", "30", "--no-smoothing", "--objective", "quality")
    assert result.exit_code == 0, result.output
    assert seen[0].search == SearchOptions(max_scans=30, smoothing=False, objective="quality")


def test_demo_counts_each_photo_once(tmp_path, kinds):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a.jpg", "copy-of-a.jpg"):
        (photos / name).write_bytes(kinds["420_q75"])
    (photos / "b.jpg").write_bytes(kinds["gray"])
    result = run(tmp_path, "demo", str(photos), "--no-serve", "--json")
    assert result.exit_code == 0, result.output
    totals = json.loads(result.stdout)
    assert totals["images"] == 2
    assert totals["source_bytes"] == len(kinds["420_q75"]) + len(kinds["gray"])
    assert [s["scale"] for s in totals["sizes"]] == [0.1, 0.25, 0.5]
    reads = [s["read_bytes"] for s in totals["sizes"]]
    assert reads == sorted(reads) and 0 < reads[-1] < totals["stored_bytes"]


def test_demo_runs_on_the_default_samples(tmp_path):
    result = run(tmp_path, "demo", "--no-serve", "--json")
    assert result.exit_code == 0, result.output
    totals = json.loads(result.stdout)
    assert totals["images"] == len(list((tmp_path / "store" / "samples").iterdir()))


# --- one clear line for every mistake -----------------------------------------------------------

@pytest.fixture(scope="module")
def stored(tmp_path_factory, kinds) -> tuple[Path, str]:
    """A store holding one image, and that image's id."""
    root = tmp_path_factory.mktemp("stored")
    (root / "a.jpg").write_bytes(kinds["420_q75"])
    result = CliRunner().invoke(main, ["--store", str(root / "store"), "ingest", str(root / "a.jpg"), "--json"])
    return root / "store", json.loads(result.stdout)["id"]


@pytest.mark.parametrize("command", [["ls"], ["info", "abcdef12"], ["get", "abcdef12", "--scale", "0.1", "-o", "x"],
                                     ["export", "abcdef12", "-o", "x"], ["rm", "abcdef12"], ["fsck"],
                                     ["sign-url", "--url-key", "k", "/v1/images/abcdef12?w=10"]])
def test_commands_that_need_a_store_never_make_one(tmp_path, command):
    missing = tmp_path / "mistyped"
    line = assert_one_error_line(pjstore("--store", str(missing), *command, cwd=tmp_path))
    assert str(missing) in line
    assert not missing.exists() and not (tmp_path / "x").exists()


@pytest.mark.parametrize("command", [["ls"], ["ingest", "a.jpg"]])
def test_a_store_path_naming_a_file_is_refused(tmp_path, kinds, command):
    (tmp_path / "a.jpg").write_bytes(kinds["gray"])
    not_a_store = tmp_path / "notes.txt"
    not_a_store.write_text("mine")
    assert_one_error_line(pjstore("--store", str(not_a_store), *command, cwd=tmp_path))
    assert not_a_store.read_text() == "mine"


@pytest.mark.parametrize("command", [["get", "--scale", "0.1"], ["export"]])
def test_outputs_are_not_overwritten_without_force(tmp_path, stored, command):
    location, image_id = stored
    name, *options = command
    existing = tmp_path / "out.jpg"
    existing.write_bytes(b"keep me")
    line = assert_one_error_line(pjstore("--store", str(location), name, image_id[:8], *options, "-o", str(existing)))
    assert str(existing) in line and existing.read_bytes() == b"keep me"

    missing_dir = tmp_path / "missing" / "dir" / "x.jpg"
    assert_one_error_line(pjstore("--store", str(location), name, image_id[:8], *options, "-o", str(missing_dir)))
    assert not (tmp_path / "missing").exists()

    forced = pjstore("--store", str(location), name, image_id[:8], *options, "-o", str(existing), "--force")
    assert forced.returncode == 0, forced.stderr
    assert Image.open(existing).format == "JPEG"


def test_ingest_mistakes(tmp_path, kinds):
    store = tmp_path / "store"
    (tmp_path / "a.jpg").write_bytes(kinds["gray"])
    no_jpegs = tmp_path / "pngs"
    no_jpegs.mkdir()
    Image.new("RGB", (8, 8)).save(no_jpegs / "p.png")
    assert_one_error_line(pjstore("--store", str(store), "ingest", str(no_jpegs)))
    assert_one_error_line(pjstore("--store", str(store), "ingest", str(tmp_path / "a.jpg"),
                                  "--report", str(tmp_path / "missing" / "r.jsonl")))
    assert not store.exists() and not (tmp_path / "missing").exists()
    named = pjstore("--store", str(store), "ingest", str(no_jpegs / "p.png"), "--json")  # named: tried, refused
    assert named.returncode == 1 and json.loads(named.stdout)["error_type"] == "NotAJpeg"


def reference_signature(key: bytes, url: str) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, url.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()


def test_sign_url_resolves_id_prefixes(stored):
    location, image_id = stored
    result = pjstore("--store", str(location), "sign-url", "--url-key", "k3y", f"/v1/images/{image_id[:8]}?w=300")
    assert result.returncode == 0, result.stderr
    canonical = f"/v1/images/{image_id}?w=300"
    assert result.stdout.strip() == f"{canonical}&sig={reference_signature(b'k3y', canonical)}"
    assert pjstore("sign-url", "/v1/images/x?w=3").returncode == 2  # no key: click's usage error


# --- eval ---------------------------------------------------------------------------------------

def test_eval_mistakes(tmp_path, kinds):
    out = tmp_path / "out"
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no photos here")
    assert_one_error_line(pjstore("eval", str(empty), "--out", str(out)))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.jpg").write_bytes(kinds["420_q75"][:2000])
    assert_one_error_line(pjstore("eval", str(broken), "--out", str(out)))
    assert not out.exists()  # no empty tables left behind
    assert_one_error_line(pjstore("eval", "--out", str(out), "--report-only"))

    earlier = tmp_path / "results"
    earlier.mkdir()
    (earlier / "run.json").write_text("{}")
    assert_one_error_line(pjstore("eval", str(broken), "--out", str(earlier)))
    assert (earlier / "run.json").read_text() == "{}" and sorted(p.name for p in earlier.iterdir()) == ["run.json"]


def test_eval_without_the_eval_extra_names_it(tmp_path):
    blocker = tmp_path / "no-extra" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'matplotlib'\", "
                                         "name='matplotlib')\n")
    result = pjstore("eval", str(tmp_path), env={"PYTHONPATH": f"{tmp_path / 'no-extra'}{os.pathsep}{REPO}"})
    assert "pjstore[eval]" in assert_one_error_line(result)


def test_eval_default_output_is_not_the_committed_results(tmp_path):
    result = CliRunner().invoke(main, ["eval", "--help"])
    default = re.search(r"--out DIRECTORY.*?\[default: (\S+)\]", result.output, re.S)[1]
    assert not (REPO / default).resolve().is_relative_to(REPO / "eval")


# --- the settings table -------------------------------------------------------------------------

def test_every_server_setting_is_in_the_table():
    fields = {f.name for f in dataclasses.fields(ServerSettings)} - {"search"}
    assert [s.name for s in SETTINGS] == [f for f in (f.name for f in dataclasses.fields(ServerSettings))
                                          if f in fields]
    assert ServerSettings() == ServerSettings(**{s.name: s.default for s in SETTINGS})


def test_serve_options_and_variables_reach_the_settings(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(serving, "start_server", lambda settings, *args: seen.append(settings))
    env = {"PJSTORE_EGRESS": "1.5", "PJSTORE_RENDER_QUEUE": "9", "PJSTORE_SEARCH_A_DEPTH": "2"}
    result = CliRunner(env=env).invoke(main, ["--store", str(tmp_path), "serve", "--render-queue", "7",
                                              "--c-depth", "3", "--max-result-dimension", "0"])
    assert result.exit_code == 0, result.output
    assert seen == [ServerSettings(store=str(tmp_path), egress=1.5, render_queue=7,
                                   search=SearchOptions(c_depth=3, a_depth=2))]
    assert ServerSettings.from_env(seen[0].to_env()) == seen[0]  # how worker processes get them


@pytest.mark.parametrize("args, env", [(["--egress", "abc"], {}), (["--egress", "0.5"], {}),
                                       ([], {"PJSTORE_RENDER_THREADS": "x"}), (["--objective", "fastest"], {}),
                                       ([], {"PJSTORE_SEARCH_SMOOTHING": "maybe"})])
def test_bad_settings_get_one_line(tmp_path, monkeypatch, args, env):
    monkeypatch.setattr(serving, "start_server", lambda *a: pytest.fail("started with bad settings"))
    result = CliRunner(env=env).invoke(main, ["--store", str(tmp_path), "serve", *args])
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1


def test_ids_resolve_only_unique_prefixes(stored):
    from pjstore.errors import InvalidRequest, NotFound
    from pjstore.storage import open_storage

    location, image_id = stored
    with open_storage(location, readonly=True) as store:
        assert ids.resolve(store, image_id[:6].upper()) == image_id
        with pytest.raises(InvalidRequest):
            ids.resolve(store, image_id[:5])
        with pytest.raises(NotFound):
            ids.resolve(store, "0" * 6 if not image_id.startswith("0" * 6) else "f" * 6)
