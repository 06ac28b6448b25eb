"""Finding the JPEGs to work on: named files as given, directories walked for JPEG-named files."""

from __future__ import annotations

from pathlib import Path

JPEG_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif"}


def walk(paths: tuple[str | Path, ...]) -> list[Path]:
    """Named files as given; directories walked for JPEG-named files, in sorted order."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in JPEG_SUFFIXES)
        else:
            found.append(p)
    return found
