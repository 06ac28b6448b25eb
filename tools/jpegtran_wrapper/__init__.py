"""The one place that runs the ``jpegtran`` binary (libjpeg-turbo).

`Jpegtran.find()` locates it (``PJSTORE_JPEGTRAN`` or ``PATH``) and checks it supports ``-scans``;
`Jpegtran.transcode()` runs it on bytes with a scan script, a time limit and captured stderr, and
turns failures and warnings about the input into pjstore's typed errors.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache

from pjstore.errors import CorruptJpeg, NotAJpeg, ToolError, TruncatedJpeg, UnsupportedJpeg

ENV_VAR = "PJSTORE_JPEGTRAN"
INSTALL_HINT = (
    "install libjpeg-turbo's jpegtran (Debian/Ubuntu: apt-get install libjpeg-turbo-progs; "
    "macOS: brew install jpeg-turbo) or point PJSTORE_JPEGTRAN at the binary"
)
# stderr phrases of libjpeg's messages (jerror.h) and the error each one means for the input.
_INPUT_PROBLEMS = (
    ("Premature end of JPEG file", TruncatedJpeg),
    ("Not a JPEG file", NotAJpeg),
    ("Unsupported", UnsupportedJpeg),
    ("not supported", UnsupportedJpeg),
    ("Corrupt JPEG data", CorruptJpeg),
    ("Bogus", CorruptJpeg),
    ("Invalid", CorruptJpeg),
)


@dataclass(frozen=True)
class Jpegtran:
    """A located, capable jpegtran binary."""

    path: str
    timeout: float = 60.0

    @staticmethod
    def find(timeout: float = 60.0) -> Jpegtran:
        """Locate jpegtran and check it accepts ``-scans``; raise ToolError saying how to fix it."""
        return Jpegtran(_locate(), timeout)

    def transcode(self, data: bytes, scan_script: str | None = None, *,
                  crop: tuple[int, int, int, int] | None = None, arithmetic: bool = False) -> bytes:
        """Losslessly transcode `data` (a JPEG) with ``-copy none -optimize``.

        With `scan_script` (jpegtran ``-scans`` syntax) the output is progressive with those scans;
        without, it is a sequential Huffman-optimized file. `crop` (width, height, x, y) keeps only
        that region (``-crop``; jpegtran moves x, y down to the iMCU grid). `arithmetic` writes
        arithmetic coding instead of Huffman (``-arithmetic``: it has no tables to optimize). A warning about the input
        (corrupt or truncated entropy data) is an error, because the coefficients jpegtran would
        write are no longer the source's.
        """
        args = [self.path, "-copy", "none", "-arithmetic" if arithmetic else "-optimize"]
        if crop is not None:
            args += ["-crop", "{}x{}+{}+{}".format(*crop)]
        with tempfile.TemporaryDirectory(prefix="pjstore-") as tmp:
            if scan_script is not None:
                script_path = os.path.join(tmp, "scans.txt")
                with open(script_path, "w") as fh:
                    fh.write(scan_script)
                args += ["-scans", script_path]
            try:
                proc = subprocess.run(args, input=data, capture_output=True, timeout=self.timeout)
            except subprocess.TimeoutExpired:
                raise ToolError(f"jpegtran did not finish within {self.timeout:.0f} s") from None
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        # jpegtran exits 1 on an error and 2 after a warning about the input: both refuse it.
        if proc.returncode == 0:
            return proc.stdout
        raise _input_error(stderr, proc.returncode)


def _input_error(stderr: str, code: int) -> Exception:
    first = stderr.splitlines()[0] if stderr else f"exit status {code}"
    for phrase, error in _INPUT_PROBLEMS:
        if phrase in stderr:
            return error(f"jpegtran: {first}")
    if "scan script" in stderr.lower() or "scans" in stderr.lower():
        return ToolError(f"jpegtran refused the scan script: {first}")
    return CorruptJpeg(f"jpegtran could not read the image: {first}")


@lru_cache(maxsize=4)
def _locate_cached(explicit: str | None, path_env: str | None) -> str:
    path = explicit or shutil.which("jpegtran", path=path_env)
    if not path or not os.access(path, os.X_OK):
        where = f"{ENV_VAR}={explicit}" if explicit else "PATH"
        raise ToolError(f"jpegtran not found on {where}: {INSTALL_HINT}")
    try:
        proc = subprocess.run([path, "-help"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolError(f"cannot run {path}: {exc}") from None
    if b"-scans" not in proc.stdout + proc.stderr:
        raise ToolError(f"{path} does not support -scans (too old or not libjpeg-turbo): {INSTALL_HINT}")
    return path


def _locate() -> str:
    return _locate_cached(os.environ.get(ENV_VAR) or None, os.environ.get("PATH"))
