"""Finding the JPEGs to work on, and reading them: named files as given, directories walked for
JPEG-named files; every read bounded and only of regular files."""

from __future__ import annotations

import os
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pjstore.errors import InvalidInput, TooLarge

JPEG_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif"}
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


@dataclass(frozen=True)
class Found:
    files: list[Path]  # to work on: named files, then each directory's JPEG-named files
    left_out: list[Path]  # other files inside the directories (said, so they are not missed silently)

    def left_out_by_suffix(self) -> list[tuple[str, int]]:
        return Counter(p.suffix.lower() for p in self.left_out).most_common()


def scan(paths: tuple[str | Path, ...]) -> Found:
    """Named files as given; directories walked for JPEG-named files, in sorted order."""
    found: list[Path] = []
    left_out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            inside = sorted(f for f in p.rglob("*") if f.is_file())
            found += [f for f in inside if f.suffix.lower() in JPEG_SUFFIXES]
            left_out += [f for f in inside if f.suffix.lower() not in JPEG_SUFFIXES]
        else:
            found.append(p)
    return Found(found, left_out)


def walk(paths: tuple[str | Path, ...]) -> list[Path]:
    """The files `scan` finds to work on."""
    return scan(paths).files


def read_source(path: Path, limit: int) -> bytes:
    """The bytes of the regular file `path`; at most `limit + 1` bytes are ever read.

    Raises InvalidInput for anything but a regular file (a FIFO or device would block or never
    end), TooLarge past `limit`, OSError when it cannot be read.
    """
    # O_NONBLOCK: opening a FIFO must not wait for a writer before its type can be checked.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
            raise InvalidInput(f"{path} is {kind}, not a regular file")
        # The size may change under us, so the read is bounded too, not just this check.
        data = fh.read(limit + 1) if info.st_size <= limit else b""
    if info.st_size > limit or len(data) > limit:
        raise TooLarge(f"{path} is over the limit of {limit} bytes")
    return data
