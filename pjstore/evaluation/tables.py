"""The measured rows, and the CSV files they are written to and read back from.

Two files, both one line per image: `storage.csv` (per image and scheme: bytes kept, bytes read
and PSNR reached per scale, write time) and `timing.csv` (per image and scale: median seconds of
each compute variant). Scales appear in column names as percentages (`read_10`, `psnr_25`);
`read_100` is a request for the whole image. The summary and the plots are drawn from these
files alone, so they can be redrawn (`--report-only`) without measuring again.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

STORAGE_CSV = "storage.csv"
TIMING_CSV = "timing.csv"


def pct(scale: float) -> str:
    """A scale as it appears in column names: 0.1 -> "10", 1.0 -> "100"."""
    return f"{scale * 100:g}"


@dataclass(frozen=True)
class StorageRow:
    """One image under one scheme."""

    image: str
    scheme: str
    width: int
    height: int
    source_bytes: int
    icc_bytes: int  # ICC profile bytes in each file the scheme serves at a scaled size (see static_copies)
    stored_bytes: int  # everything the scheme keeps for this image
    write_s: float  # ingest time: what the scheme does to an upload before storing it
    reads: dict[float, int]  # scale -> bytes read to serve it; 1.0 included
    scores: dict[float, float]  # scale -> PSNR of what was read (inf: identical to the reference)
    qualities: dict[float, int]  # scale -> JPEG quality of a static copy; empty for other schemes
    chroma: dict[float, str]  # scale -> chroma subsampling of a static copy; empty for other schemes
    served_scores: dict[float, float] = field(default_factory=dict)  # scale -> PSNR of the file the user
    # receives (measure_storage fills it in once the scheme's own work is done)

    def record(self, scales: tuple[float, ...]) -> dict:
        row = {"image": self.image, "scheme": self.scheme, "width": self.width, "height": self.height,
               "source_bytes": self.source_bytes, "icc_bytes": self.icc_bytes,
               "stored_bytes": self.stored_bytes, "write_s": f"{self.write_s:.6f}"}
        for s in (*scales, 1.0):
            row[f"read_{pct(s)}"] = self.reads[s]
        for s in scales:
            row[f"psnr_{pct(s)}"] = _number(self.scores[s])
        for s in scales:
            row[f"served_psnr_{pct(s)}"] = _number(self.served_scores[s])
        for s in scales:
            row[f"quality_{pct(s)}"] = self.qualities.get(s, "")
        for s in scales:
            row[f"chroma_{pct(s)}"] = self.chroma.get(s, "")
        return row


def storage_columns(scales: tuple[float, ...]) -> list[str]:
    return (["image", "scheme", "width", "height", "source_bytes", "icc_bytes", "stored_bytes", "write_s"]
            + [f"read_{pct(s)}" for s in (*scales, 1.0)] + [f"psnr_{pct(s)}" for s in scales]
            + [f"served_psnr_{pct(s)}" for s in scales]
            + [f"quality_{pct(s)}" for s in scales] + [f"chroma_{pct(s)}" for s in scales])


@dataclass(frozen=True)
class TimingRow:
    """Median seconds of each compute variant (compute_cost.VARIANTS) for one image at one scale."""

    image: str
    scale: float
    prefix_scheme: str  # whose prefix the server and client variants decode
    seconds: dict[str, float | None]  # variant -> median seconds; None when it could not run

    def record(self) -> dict:
        row = {"image": self.image, "scale": self.scale, "prefix_scheme": self.prefix_scheme}
        for variant, value in self.seconds.items():
            row[f"{variant}_s"] = "" if value is None else f"{value:.7f}"
        return row


def timing_columns(variants: tuple[str, ...]) -> list[str]:
    return ["image", "scale", "prefix_scheme"] + [f"{v}_s" for v in variants]


def _number(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.4f}"


def write_csv(path: Path, columns: list[str], records: list[dict]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(records)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))
