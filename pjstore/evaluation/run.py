"""Measure a corpus: every image under every scheme, over a process pool.

Writes `storage.csv`, `timing.csv` (see tables) and `run.json` (what ran, on what, how long,
which images were left out and why) into the output directory; with `keep_stored`, also
what each scheme stores per image under `stored/<scheme>/`, so any figure can be re-checked by
decoding.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy
import PIL
from PIL import features
from tqdm import tqdm

from pjstore.corpus import JPEG_SUFFIXES, walk
from pjstore.encoder.structure import parse
from pjstore.errors import InvalidInput, PjstoreError
from pjstore.evaluation import compute_cost, measure_storage, schemes
from pjstore.evaluation.tables import (
    STORAGE_CSV,
    TIMING_CSV,
    StorageRow,
    TimingRow,
    storage_columns,
    timing_columns,
    write_csv,
)
from pjstore.ingest import DEFAULT_MAX_PIXELS
from pjstore.quality.contract import QualityTarget, Reference

RUN_JSON = "run.json"
STORED_DIR = "stored"


@dataclass(frozen=True)
class Config:
    target: QualityTarget
    repeats: int  # timing rounds per image and scale
    budget_s: float  # past this, timing stops after timing.MIN_ROUNDS rounds
    keep_dir: Path | None  # where to keep stored files, if at all


@dataclass(frozen=True)
class ImageResult:
    image: str
    storage: tuple[StorageRow, ...] = ()
    timing: tuple[TimingRow, ...] = ()
    error: dict | None = None  # why the image was left out, as ingest reports it (it then has no rows at all)


def evaluate(path: Path, name: str, config: Config) -> ImageResult:
    """All measurements of one image; an image some scheme rejects is left out of every scheme."""
    try:
        source = path.read_bytes()
        parse(source, DEFAULT_MAX_PIXELS)  # ingest's own checks first, so a bad file gets ingest's error
        reference = Reference.from_source(source, config.target)
        measured = {s.name: measure_storage.measure(name, source, s, reference) for s in schemes.ALL}
    except (PjstoreError, OSError) as exc:  # Pillow's UnidentifiedImageError is an OSError
        return ImageResult(name, error={"error_type": type(exc).__name__, "error": str(exc)})
    if config.keep_dir is not None:
        for scheme, m in measured.items():
            for suffix, data in m.files.items():
                target = config.keep_dir / scheme / (name + suffix)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
    prefix_scheme = schemes.CUSTOM.name
    timing = compute_cost.measure(name, source, prefix_scheme, measured[prefix_scheme].read_data,
                                  measured[schemes.STATIC.name].read_data, config.repeats, config.budget_s)
    return ImageResult(name, tuple(m.row for m in measured.values()), timing)


def run(corpus: Path, out: Path, *, workers: int = 1, limit: int | None = None, repeats: int = 15,
        budget_s: float = 2.0, keep_stored: bool = False, command: str = "") -> dict:
    """Measure `corpus` into `out`; returns what run.json records."""
    started = time.perf_counter()
    versions = _versions()  # before anything is written: results inside the checkout would mark it modified
    files = walk((corpus,))[:limit]
    if not files:
        raise InvalidInput(f"no JPEG files ({', '.join(sorted(JPEG_SUFFIXES))}) in {corpus}")
    target = QualityTarget()  # the dissertation's: PSNR >= 32 dB at 10, 25 and 50%
    config = Config(target, repeats, budget_s, out / STORED_DIR if keep_stored else None)
    names = [f.relative_to(corpus).as_posix() for f in files]
    results = sorted(_map(files, names, config, workers), key=lambda r: r.image)
    if all(r.error is not None for r in results):  # nothing to write: leave no empty tables behind
        first = results[0]
        raise InvalidInput(f"none of the {len(results)} files could be measured (e.g. {first.image}: "
                           f"{first.error['error_type']}: {first.error['error']})")
    out.mkdir(parents=True, exist_ok=True)

    write_csv(out / STORAGE_CSV, storage_columns(target.scales),
              [row.record(target.scales) for r in results for row in r.storage])
    write_csv(out / TIMING_CSV, timing_columns(compute_cost.VARIANTS),
              [row.record() for r in results for row in r.timing])
    info = {
        "command": command,
        "corpus": str(corpus),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_s": round(time.perf_counter() - started, 1),
        "workers": workers,
        "cpus": os.cpu_count(),
        "images": sum(r.error is None for r in results),
        "errors": {r.image: r.error for r in results if r.error is not None},
        "schemes": [s.name for s in schemes.ALL],
        "scales": list(target.scales),
        "thresholds": list(target.thresholds),
        "metric": target.metric,
        "timing": {"repeats": repeats, "budget_s": budget_s, "vips_error": compute_cost.VIPS_ERROR},
        "versions": versions,
    }
    (out / RUN_JSON).write_text(json.dumps(info, indent=2) + "\n")
    return info


def _map(files: list[Path], names: list[str], config: Config, workers: int):
    """Yield results as they finish, with a progress bar that stays quiet when not on a TTY."""
    bar = tqdm(total=len(files), unit="image", disable=None, desc="eval")
    if workers <= 1:
        for f, n in zip(files, names, strict=True):
            yield evaluate(f, n, config)
            bar.update()
    else:
        # spawn, not fork: libvips has started threads in this process by now
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(evaluate, f, n, config) for f, n in zip(files, names, strict=True)]
            for future in as_completed(futures):
                yield future.result()
                bar.update()
    bar.close()


def _versions() -> dict:
    repo = Path(__file__).resolve().parents[2]
    try:
        git = subprocess.run(["git", "-C", str(repo), "describe", "--always", "--dirty"], capture_output=True,
                             text=True).stdout.strip() or None
    except OSError:  # no git: an installed copy
        git = None
    return {
        "pjstore_git": git,
        "python": platform.python_version(),
        "pillow": PIL.__version__,
        "libjpeg_turbo": features.version("libjpeg_turbo"),
        "numpy": numpy.__version__,
        "libvips": compute_cost.vips_version(),
        "machine": platform.machine(),
    }
