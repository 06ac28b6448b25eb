"""Finding the JPEGs to work on: named files as given, directories walked for JPEG-named files."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

JPEG_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif"}


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
