"""The four storage schemes of the dissertation's Table 3, and which of them can run today.

The two dynamic progressive schemes are pjstore's own ingest schemes; whether one is available
is decided by trying it, so the tuned ("custom") scheme joins every table and figure as soon as
`prepare(..., IngestOptions(scheme="custom"))` works, with no change here.
"""

from __future__ import annotations

from dataclasses import dataclass

from pjstore.errors import PjstoreError
from pjstore.ingest import IngestOptions, prepare
from pjstore.samples import encode, pixels


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


def probe(schemes: tuple[Scheme, ...] = ALL) -> tuple[tuple[Scheme, ...], dict[str, str]]:
    """Split `schemes` into those that run and, for the rest, the error each raised.

    A pjstore scheme is tried on a small generated photo, so an unfinished scheme is told apart
    from a bad corpus file.
    """
    probe_jpeg = encode(pixels("coffee")[:96, :128], 85)
    ready, skipped = [], {}
    for scheme in schemes:
        if scheme.pjstore_scheme is not None:
            try:
                prepare(probe_jpeg, IngestOptions(scheme=scheme.pjstore_scheme))
            except PjstoreError as exc:
                skipped[scheme.name] = f"{type(exc).__name__}: {exc}"
                continue
        ready.append(scheme)
    return tuple(ready), skipped
