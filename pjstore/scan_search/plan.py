"""What a scheme hands the write path: a scan script and, optionally, where it expects each
scale's prefix to end (an index into the script's scans), used as a starting point by the
offset measurement that verifies it by real decoding, and whether the default progression is
worth transcoding and verifying too."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pjstore.encoder.scan import ScanScript


@dataclass(frozen=True)
class ScanPlan:
    script: ScanScript
    hints: dict[float, int] = field(default_factory=dict)  # scale -> index of the last scan to read
    # Whether the default progression may read less than this plan, so the write path should
    # transcode and verify it as well (SearchOptions.default_below_pixels).
    try_default: bool = False
    # search.Layouts: scripts with the same prefix whose remainders the write path may compare
    # by size (None: `script` is the only layout).
    layouts: Any = None

    def __post_init__(self) -> None:
        for scale, index in self.hints.items():
            if not 0 <= index < len(self.script):
                raise ValueError(f"hint for scale {scale} points at scan {index} of {len(self.script)}")
