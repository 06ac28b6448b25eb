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
