"""From the CSV rows to the figures the summary reports: per-scheme arrays, then pure reductions.

Means over images are of per-image fractions (bytes read / source bytes), as the reference
measurements report them; capacity is a ratio of totals, as storage is bought.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from pjstore.evaluation import compute_cost, schemes
from pjstore.evaluation.tables import pct


@dataclass(frozen=True)
class SchemeData:
    """One scheme's measurements, one entry per image (the same images, in the same order, for all)."""

    scheme: schemes.Scheme
    images: tuple[str, ...]
    source: np.ndarray  # (n,) source bytes
    icc: np.ndarray  # (n,) ICC profile bytes in each served scaled file
    stored: np.ndarray  # (n,) bytes kept
    write_s: np.ndarray  # (n,) ingest seconds
    reads: np.ndarray  # (n, k+1) bytes read per scale, the last column the whole image
    scores: np.ndarray  # (n, k) PSNR of the bytes read per scale (inf: lossless)
    served_scores: np.ndarray  # (n, k) PSNR of the file the user receives
    qualities: np.ndarray  # (n, k) static copies' JPEG quality, nan for other schemes
    full_chroma: np.ndarray  # (n, k) static copies kept at 4:4:4 (False for other schemes)


def load_storage(rows: list[dict[str, str]], scales: tuple[float, ...]) -> dict[str, SchemeData]:
    """Per-scheme arrays from storage.csv rows, in Table 3 order."""
    out = {}
    for scheme in schemes.ALL:
        mine = sorted((r for r in rows if r["scheme"] == scheme.name), key=lambda r: r["image"])
        if mine:
            out[scheme.name] = _scheme_data(scheme, mine, scales)
    images = {d.images for d in out.values()}
    if len(images) > 1:
        raise ValueError("storage.csv: schemes were measured on different images")
    return out


def _scheme_data(scheme: schemes.Scheme, mine: list[dict[str, str]], scales: tuple[float, ...]) -> SchemeData:
    def col(name: str) -> np.ndarray:
        return np.array([float(r[name]) if r[name] != "" else np.nan for r in mine])

    def cols(prefix: str, which: tuple[float, ...]) -> np.ndarray:
        return np.stack([col(f"{prefix}_{pct(s)}") for s in which], axis=1)

    return SchemeData(scheme, tuple(r["image"] for r in mine), col("source_bytes"), col("icc_bytes"),
                      col("stored_bytes"), col("write_s"), cols("read", (*scales, 1.0)), cols("psnr", scales),
                      cols("served_psnr", scales), cols("quality", scales),
                      np.array([[r[f"chroma_{pct(s)}"] == "4:4:4" for s in scales] for r in mine]))


def capacity(data: SchemeData, baseline: SchemeData) -> float:
    """Total bytes kept, normalized to the dynamic baseline's (the sources)."""
    return float(data.stored.sum() / baseline.stored.sum())


def read_fractions(data: SchemeData) -> np.ndarray:
    """(n, k+1) bytes read / source bytes."""
    return data.reads / data.source[:, None]


def mean_read_fraction(data: SchemeData) -> np.ndarray:
    return read_fractions(data).mean(axis=0)


def reads_saved(data: SchemeData, baseline: SchemeData) -> np.ndarray:
    """Per scale (and the whole image), 1 - mean read fraction relative to the dynamic baseline's."""
    return 1.0 - mean_read_fraction(data) / mean_read_fraction(baseline)


@dataclass(frozen=True)
class ScoreStats:
    mean: np.ndarray  # (k,) over images with a finite score; nan if none (lossless throughout)
    min: np.ndarray  # (k,)
    below: np.ndarray  # (k,) images under the threshold (only static copies flagged at quality 100)


def score_stats(scores: np.ndarray, thresholds: np.ndarray) -> ScoreStats:
    finite = np.where(np.isfinite(scores), scores, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-nan column: lossless throughout
        return ScoreStats(np.nanmean(finite, axis=0), np.nanmin(finite, axis=0),
                          (scores < thresholds[None, :]).sum(axis=0))


def load_timing(rows: list[dict[str, str]]) -> dict[float, dict[str, np.ndarray]]:
    """scale -> variant -> (n,) median seconds per image (nan where a variant did not run)."""
    out: dict[float, dict[str, np.ndarray]] = {}
    for scale in sorted({float(r["scale"]) for r in rows}):
        mine = sorted((r for r in rows if float(r["scale"]) == scale), key=lambda r: r["image"])
        out[scale] = {v: np.array([float(r[f"{v}_s"]) if r[f"{v}_s"] != "" else np.nan for r in mine])
                      for v in compute_cost.VARIANTS}
    return out


@dataclass(frozen=True)
class Ratio:
    """A per-image time ratio across images: median and interquartile range."""

    median: float
    q25: float
    q75: float


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> Ratio:
    r = numerator / denominator
    r = r[np.isfinite(r)]
    if r.size == 0:
        return Ratio(np.nan, np.nan, np.nan)
    q25, median, q75 = np.percentile(r, [25, 50, 75])
    return Ratio(float(median), float(q25), float(q75))
