"""Every script under eval/ starts (imports resolve, options parse): they run outside pytest,
so a refactor that moves a name they import would otherwise go unnoticed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EVAL = Path(__file__).resolve().parents[1] / "eval"


@pytest.mark.parametrize("script", sorted(p.name for p in EVAL.glob("*.py")))
def test_script_starts(script):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run([sys.executable, str(EVAL / script), "--help"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage" in result.stdout.lower()


def test_served_refuses_a_negative_tune_count_before_reading_anything(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run([sys.executable, str(EVAL / "served.py"), str(tmp_path / "absent"), "--tune", "-1",
                             "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2 and "--tune counts images" in result.stderr, result.stderr[-2000:]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("script", "args", "says"), [
    ("bench_upload.py", ["{absent}"], "no corpus at"),
    ("bench_upload.py", ["{tmp}", "--limit", "-1"], "--limit and --concurrency must be at least 1"),
    ("bench_upload.py", ["{tmp}", "--concurrency", "0"], "--limit and --concurrency must be at least 1"),
    ("encoders.py", ["{absent}"], "no such file or directory"),
    ("encoders.py", ["{tmp}", "--limit", "0"], "--limit and --repeats must be at least 1"),
])
def test_benchmarks_refuse_bad_arguments_before_any_work(tmp_path, script, args, says):
    """A usage error (exit 2, one line naming it) before a server starts or a file is written."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = tmp_path / "out.md"
    argv = [a.format(absent=tmp_path / "absent", tmp=tmp_path) for a in args]
    if script == "bench_upload.py":
        argv += ["--out", str(out)]
    result = subprocess.run([sys.executable, str(EVAL / script), *argv], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 2 and says in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and not out.exists()
