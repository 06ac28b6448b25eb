"""The four storage schemes of the dissertation's Table 3; the two dynamic progressive ones are
pjstore's own ingest schemes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scheme:
    name: str  # key in the CSV files
    label: str  # name in tables and figures
    stores: str  # Table 3's "stored data"
    colour: str  # the same in every figure (Okabe-Ito, colour-blind safe)
    pjstore_scheme: str | None = None  # IngestOptions.scheme for the dynamic progressive schemes


STATIC = Scheme("static", "static baseline", "source + pre-resized baseline copies", "#E69F00")
BASELINE = Scheme("baseline", "dynamic baseline", "source only, read whole", "#7F7F7F")
PROGRESSIVE = Scheme("progressive", "dynamic progressive", "source as default progressive JPEG", "#0072B2",
                     "progressive")
CUSTOM = Scheme("custom", "dynamic custom progressive", "source as tuned progressive JPEG", "#009E73", "custom")
ALL = (STATIC, BASELINE, PROGRESSIVE, CUSTOM)
BY_NAME = {s.name: s for s in ALL}
