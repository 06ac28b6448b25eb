"""The command line: batch ingest that reports and skips bad files, and every subcommand."""

from __future__ import annotations

import io
import json

from click.testing import CliRunner
from PIL import Image

from pjstore.cli import main


def run(tmp_path, *args):
    return CliRunner().invoke(main, ["--store", str(tmp_path / "store"), *args])


def corpus(tmp_path, kinds):
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    (d / "a.jpg").write_bytes(kinds["420_q75"])
    (d / "sub" / "b.JPEG").write_bytes(kinds["gray"])
    (d / "broken.jpg").write_bytes(kinds["420_q75"][:3000])
    (d / "notes.txt").write_text("not an image, not named like one: skipped")
    return d


def test_ingest_reports_and_skips_bad_files(tmp_path, kinds):
    result = run(tmp_path, "ingest", str(corpus(tmp_path, kinds)), "--json")
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert len(rows) == 3
    by_name = {r["path"].rsplit("/", 1)[-1]: r for r in rows}
    assert by_name["broken.jpg"]["error_type"] == "TruncatedJpeg"
    for name in ("a.jpg", "b.JPEG"):
        assert len(by_name[name]["id"]) == 64 and by_name[name]["created"]
    listed = run(tmp_path, "ls").output.split()
    assert sorted(listed) == sorted(by_name[n]["id"] for n in ("a.jpg", "b.JPEG"))
    again = run(tmp_path, "ingest", str(tmp_path / "in" / "a.jpg"), "--json")
    assert again.exit_code == 0 and json.loads(again.output)["created"] is False


def test_info_get_export_rm(tmp_path, kinds):
    src = tmp_path / "a.jpg"
    src.write_bytes(kinds["420_q75"])
    image_id = json.loads(run(tmp_path, "ingest", str(src), "--json", "--scales", "0.1,0.5").output)["id"]
    info = json.loads(run(tmp_path, "info", image_id[:10]).output)
    assert {"id", "width", "height", "source_bytes", "stored_bytes", "scheme", "scans", "scales"} <= info.keys()
    assert [s["scale"] for s in info["scales"]] == [0.1, 0.5, 1.0]
    assert {"scale", "width", "height", "offset", "psnr"} <= info["scales"][0].keys()
    out = tmp_path / "small.jpg"
    result = run(tmp_path, "get", image_id, "--scale", "0.1", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (24, 20)
    assert run(tmp_path, "get", image_id, "--scale", "0.25", "-o", str(out)).exit_code == 2
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
    assert run(tmp_path, "info", "zz").exit_code == 2


def test_demo_runs_on_the_default_samples(tmp_path):
    result = run(tmp_path, "demo")
    assert result.exit_code == 0, result.output
    assert "of stored" in result.output and "0.1" in result.output
