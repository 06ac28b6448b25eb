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
