"""The evaluation suite, end to end on a handful of generated images: its outputs' structure, and
its figures re-checked against the files each scheme stored, by decoding with the contract
written out independently in conftest (no timing assertions)."""

from __future__ import annotations

import csv
import json
import math
import re

import pytest
from click.testing import CliRunner
from PIL import Image

from pjstore.cli import main
from pjstore.evaluation import compute_cost
from pjstore.evaluation.tables import storage_columns, timing_columns
from pjstore.quality.contract import QualityTarget
from pjstore.render.decode import EOI
from pjstore.render.pipeline import make_rendition
from pjstore.rendition.recipe import LEGACY

from helpers import contract_psnr

KINDS_USED = ("420_q75", "444_q95", "gray", "cmyk", "icc", "tiny_7x5")
SCALES = QualityTarget().scales
THRESHOLD = 32.0
FIGURES = ("capacity.png", "reads.png", "psnr.png", "compute.png", "write_cost.png", "projection.png")


def pct(scale: float) -> str:
    return f"{scale * 100:g}"


def make_corpus(directory, kinds):
    directory.mkdir()
    for name in KINDS_USED:
        (directory / f"{name}.jpg").write_bytes(kinds[name])
    (directory / "broken.jpg").write_bytes(kinds["420_q75"][:2000])
    return directory


def evaluate(corpus, out, *args):
    result = CliRunner().invoke(main, ["eval", str(corpus), "--out", str(out), "--repeats", "3", *args])
    assert result.exit_code == 0, result.output
    return out


def rows(path):
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def run(tmp_path_factory, kinds):
    base = tmp_path_factory.mktemp("eval")
    corpus = make_corpus(base / "corpus", kinds)
    out = evaluate(corpus, base / "out", "--workers", "2", "--keep-stored")
    return corpus, out


def test_outputs_are_written(run):
    _, out = run
    for name in ("storage.csv", "timing.csv", "run.json", "summary.md", *FIGURES):
        assert (out / name).stat().st_size > 0, name
    for name in FIGURES:
        with Image.open(out / name) as im:
            assert im.format == "PNG" and im.width > 400 and im.height > 300
    summary = (out / "summary.md").read_text()
    assert re.findall(r"^## (\d)\. ", summary, re.M) == ["1", "2", "3", "4", "5"], "the five numbered sections"
    assert json.loads((out / "run.json").read_text())["command"] in summary, "the command that produced it"
    assert "measurements.md" not in summary  # the shared photos' reference figures: not this corpus


def test_csv_columns_and_one_row_per_image_and_scheme(run):
    _, out = run
    info = json.loads((out / "run.json").read_text())
    storage = rows(out / "storage.csv")
    assert list(storage[0]) == storage_columns(SCALES)
    for column in ("image", "scheme", "source_bytes", "stored_bytes", "write_s", "read_10", "read_25", "read_50",
                   "read_100", "psnr_10", "psnr_25", "psnr_50", "quality_10"):
        assert column in storage[0]
    images = {f"{k}.jpg" for k in KINDS_USED}
    assert {(r["image"], r["scheme"]) for r in storage} == {(i, s) for i in images for s in info["schemes"]}
    assert len(storage) == len(images) * len(info["schemes"])

    timing = rows(out / "timing.csv")
    assert list(timing[0]) == timing_columns(compute_cost.VARIANTS)
    assert {(r["image"], float(r["scale"])) for r in timing} == {(i, s) for i in images for s in SCALES}
    for r in timing:
        for v in compute_cost.VARIANTS:
            if v == "server_vips" and compute_cost.pyvips is None:
                assert r[f"{v}_s"] == ""
            else:
                assert float(r[f"{v}_s"]) > 0


def test_bad_files_are_left_out_and_reported(run):
    _, out = run
    info = json.loads((out / "run.json").read_text())
    assert list(info["errors"]) == ["broken.jpg"]
    assert info["errors"]["broken.jpg"]["error_type"] == "TruncatedJpeg"  # what `pjstore ingest` says of it
    assert "TruncatedJpeg" in (out / "summary.md").read_text()
    assert info["images"] == len(KINDS_USED)
    assert all(r["image"] != "broken.jpg" for r in rows(out / "storage.csv"))


def test_every_scheme_is_measured_for_every_image(run):
    _, out = run
    info = json.loads((out / "run.json").read_text())
    assert info["schemes"] == ["static", "baseline", "progressive", "custom"]
    assert {r["scheme"] for r in rows(out / "storage.csv")} == set(info["schemes"])
    assert {r["prefix_scheme"] for r in rows(out / "timing.csv")} == {"custom"}, "timed on what pjstore serves"


def test_every_read_meets_the_threshold_by_decoding(run):
    corpus, out = run
    stored = out / "stored"
    for r in rows(out / "storage.csv"):
        source = (corpus / r["image"]).read_bytes()
        assert int(r["source_bytes"]) == len(source)
        if r["scheme"] in ("static", "baseline"):
            assert int(r["read_100"]) == len(source), "the whole image is the source itself"
        for s in SCALES:
            read, score = int(r[f"read_{pct(s)}"]), float(r[f"psnr_{pct(s)}"])
            if r["scheme"] == "baseline":
                assert read == len(source) and math.isinf(score)
                continue
            if r["scheme"] == "static":
                served = (stored / "static" / f"{r['image']}@{pct(s)}.jpg").read_bytes()
                assert read == len(served)
                with Image.open(stored / "static" / f"{r['image']}@{pct(s)}.jpg") as im:
                    assert im.size == (max(1, round(int(r["width"]) * s)), max(1, round(int(r["height"]) * s)))
                    assert len(im.info.get("icc_profile") or b"") == int(r["icc_bytes"])
            else:
                blob = (stored / r["scheme"] / f"{r['image']}.jpg").read_bytes()
                served = blob[:read] + (EOI if read < len(blob) else b"")
            got = contract_psnr(source, served, s)
            assert got == pytest.approx(score, abs=1e-3) or math.isinf(got) and math.isinf(score)
            if r["scheme"] == "static" and int(r[f"quality_{pct(s)}"]) == 100:
                continue  # flagged: even quality 100 may miss the threshold, and is recorded as such
            assert got >= THRESHOLD, (r["image"], r["scheme"], s)


def test_served_quality_is_that_of_the_file_the_user_receives(run):
    corpus, out = run
    for r in rows(out / "storage.csv"):
        source = (corpus / r["image"]).read_bytes()
        for s in SCALES:
            served = float(r[f"served_psnr_{pct(s)}"])
            if r["scheme"] == "static":
                assert served == float(r[f"psnr_{pct(s)}"]), "the copy is what is served"
                continue
            if r["scheme"] == "baseline":
                read = source
            else:
                blob = (out / "stored" / r["scheme"] / f"{r['image']}.jpg").read_bytes()
                n = int(r[f"read_{pct(s)}"])
                read = blob[:n] + (EOI if n < len(blob) else b"")
            size = (max(1, round(int(r["width"]) * s)), max(1, round(int(r["height"]) * s)))
            assert contract_psnr(source, make_rendition(read, LEGACY, size)[0], s) == pytest.approx(served, abs=1e-3)


def test_progressive_prefixes_never_exceed_the_stored_file(run):
    _, out = run
    for r in rows(out / "storage.csv"):
        if r["scheme"] in ("progressive", "custom"):
            reads = [int(r[f"read_{pct(s)}"]) for s in (*SCALES, 1.0)]
            assert reads == sorted(reads), "prefixes never shrink as the size grows"
            assert reads[-1] == int(r["stored_bytes"]) == len((out / "stored" / r["scheme"] / f"{r['image']}.jpg")
                                                              .read_bytes())


def test_static_keeps_more_than_the_dynamic_schemes(run):
    corpus, out = run
    by = {}
    for r in rows(out / "storage.csv"):
        by.setdefault(r["scheme"], {})[r["image"]] = r
    for image, r in by["static"].items():
        copies = sum(len((out / "stored" / "static" / f"{image}@{pct(s)}.jpg").read_bytes()) for s in SCALES)
        assert int(r["stored_bytes"]) == len((corpus / image).read_bytes()) + copies
        assert int(r["stored_bytes"]) > int(by["baseline"][image]["stored_bytes"])
    total = {name: sum(int(r["stored_bytes"]) for r in per.values()) for name, per in by.items()}
    assert total["static"] > total["baseline"]
    assert total["static"] > total["progressive"]


def test_report_only_redraws_for_another_workload(run, tmp_path):
    _, out = run
    before = {name: (out / name).read_bytes() for name in ("summary.md", "projection.png", "storage.csv")}
    result = CliRunner().invoke(main, ["eval", "--out", str(out), "--report-only", "--images", "2000",
                                       "--requests-per-image", "3", "--mix", "0.25,0.25,0.25,0.25"])
    assert result.exit_code == 0, result.output
    after = {name: (out / name).read_bytes() for name in before}
    assert after["storage.csv"] == before["storage.csv"], "nothing is measured again"
    assert after["summary.md"] != before["summary.md"] and after["projection.png"] != before["projection.png"]
    assert "2,000" in after["summary.md"].decode() and "2,000" not in before["summary.md"].decode()


def test_a_mix_that_does_not_add_up_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["eval", "--out", str(tmp_path), "--report-only", "--mix", "0.5,0.5,0.5,0.5"])
    assert result.exit_code == 2 and "(0.5, 0.5, 0.5, 0.5)" in result.output, "a usage error naming the value"
    result = CliRunner().invoke(main, ["eval", "--out", str(tmp_path), "--report-only", "--mix", "0.5,0.5"])
    assert result.exit_code == 2
