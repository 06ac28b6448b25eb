"""eval/cost.py: bad input gets one clear error and writes nothing; a real run writes the page."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import KINDS

EVAL = Path(__file__).resolve().parents[1] / "eval"


def run(*args: str | Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, str(EVAL / "cost.py"), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.fixture
def corpus(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.jpg").write_bytes(KINDS["420_q75"]())
    return tmp_path / "c"


@pytest.mark.parametrize("args, says", [
    (["{absent}"], "no such file or directory"),
    (["{empty}"], "no JPEG files"),
    (["{corpus}", "--prices", "egress=1"], "NAME=DOLLARS with NAME one of"),
    (["{corpus}", "--prices", "egress_gb=-2"], "egress_gb must be a finite number >= 0"),
    (["{corpus}", "--hit-ratio", "1.5"], "--hit-ratio must be within 0..1"),
    (["{corpus}", "--mix", "0.5,0.6,0.2"], "summing to 1"),
    (["{corpus}", "--mix", "half"], "not a comma-separated list"),
    (["{corpus}", "--limit", "0"], "at least 1"),
    (["{corpus}", "--egress", "0.9"], "egress must be at least 1"),
    (["{corpus}", "--out", "{absent}/cost.md"], "no directory"),
])
def test_bad_input_is_one_error_and_nothing_is_written(tmp_path, corpus, args, says):
    (tmp_path / "empty").mkdir()
    names = {"absent": tmp_path / "absent", "empty": tmp_path / "empty", "corpus": corpus}
    out = tmp_path / "cost.md"
    result = run(*[a.format(**names) for a in args], *([] if "--out" in args else ["--out", out]))
    assert result.returncode == 2, result.stderr[-2000:]
    assert says in result.stderr and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert not out.exists()


def test_a_corpus_of_which_nothing_can_be_measured_writes_nothing(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "not.jpg").write_bytes(b"GIF89a not a jpeg")
    result = run(tmp_path / "c", "--out", tmp_path / "cost.md")
    assert result.returncode == 1
    assert "FAIL not.jpg: NotAJpeg" in result.stderr and "nothing written" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "cost.md").exists()


def test_a_run_writes_the_page_naming_its_command_and_commit_and_the_failures(tmp_path, corpus):
    pytest.importorskip("pyvips")
    (corpus / "b.jpg").write_bytes(b"\xff\xd8 truncated")
    out = tmp_path / "cost.md"
    result = run(corpus, "--repeats", "1", "--views-per-year", "365", "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    page = out.read_text()
    assert f"python eval/cost.py {corpus} --repeats 1 --views-per-year 365 --out {out}" in page
    assert "Measured at commit " in page
    assert "## c: 1 images" in page
    for system in ("pjstore", "static copies (libvips q80)", "on the fly (libvips per miss)", "static copies at 32 dB"):
        assert page.count(f"| {system} |") == 3  # measured figures, the year's costs, other read rates
    assert "| 1,000,000,000 |" in page and "Break-even" in page
    assert "- b.jpg: " in page  # named under "Not measured"
