"""eval/look.py, the page a person looks at: its argument errors, and a tiny run on generated photos
(the shared corpora are not needed)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from pjstore.ingest import ingest
from pjstore.read_path.serve import render
from pjstore.samples import encode
from pjstore.storage.lmdb_store import LmdbStorage

from helpers import crop, served_psnr

LOOK = Path(__file__).resolve().parents[1] / "eval" / "look.py"


def run(*args: str | Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, str(LOOK), *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=600)


@pytest.fixture
def photos(tmp_path) -> Path:
    d = tmp_path / "photos"
    d.mkdir()
    (d / "a.jpg").write_bytes(encode(crop("astronaut", 160, 120), quality=92))
    (d / "b.jpg").write_bytes(encode(crop("coffee", 96, 128), quality=85))
    (d / "notes.txt").write_text("not a photo")
    return d


@pytest.mark.parametrize("case", ["missing", "a file", "no jpegs", "limit 0", "limit -2", "limit ten", "crop 4"])
def test_argument_errors_exit_2_with_one_line_and_write_nothing(tmp_path, photos, case):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no photos here")
    corpus, extra = {"missing": (tmp_path / "absent", []), "a file": (photos / "a.jpg", []),
                     "no jpegs": (empty, []), "limit 0": (photos, ["--limit", "0"]),
                     "limit -2": (photos, ["--limit", "-2"]), "limit ten": (photos, ["--limit", "ten"]),
                     "crop 4": (photos, ["--crop", "4"])}[case]
    out = tmp_path / "out"
    result = run(corpus, "--out", out, *extra)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("look.py: error: "), result.stderr
    assert ("limit" in lines[0] or "crop" in lines[0]) if extra else str(corpus) in lines[0]
    assert not out.exists()


def test_a_tiny_run_writes_the_table_the_plot_and_a_sheet_graded_as_users_receive(tmp_path, photos):
    out = tmp_path / "out"
    result = run(photos, "--limit", "2", "--sheets", "1", "--crop", "48", "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]

    summary = (out / "summary.md").read_text()
    table = [line for line in summary.splitlines() if line.startswith("| ") and "x (" in line]
    for scale in ("10%", "25%", "50%", "100%"):
        assert sum(line.startswith(f"| {scale} |") for line in table) == 5, summary  # issue's row + 4 schemes

    with open(out / "look.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {(r["image"], r["scale"], r["scheme"]) for r in rows} == {
        (i, s, k) for i in ("a.jpg", "b.jpg") for s in ("0.1", "0.25", "0.5", "1.0")
        for k in ("pjstore", "static", "vips_q80", "smallest70")}
    # What pjstore serves is graded as a user receives it: re-served here, scored by the tests' own contract.
    source = (photos / "a.jpg").read_bytes()
    with LmdbStorage(tmp_path / "store") as store:
        record, _ = ingest(store, source)
        for r in rows:
            if r["image"] == "a.jpg" and r["scheme"] == "pjstore":
                served = render(store, record.id, scale=float(r["scale"])).data
                assert int(r["bytes"]) == len(served)
                assert float(r["psnr"]) == pytest.approx(served_psnr(source, served, float(r["scale"])), abs=0.01)
                assert float(r["psnr"]) >= 32.0 - 1e-6  # pjstore's default promise
    for r in rows:
        assert -200 < float(r["ssimulacra2"]) <= 100
        if r["scheme"] == "smallest70" and r["meets"] == "True":
            assert float(r["ssimulacra2"]) >= 69.9  # searched in stored axes, graded upright

    sheets = sorted(out.glob("sheet-*.png"))
    assert [p.name for p in sheets] == ["sheet-a.png"]  # 19200 px beats 12288: the larger of two for one sheet
    with Image.open(sheets[0]) as im:
        assert im.width == 6 + 4 * (48 + 6)  # reference + three schemes, 48-pixel crops
        assert im.height > 4 * 48
    with Image.open(out / "ssimulacra2.png") as im:
        assert im.format == "PNG"
