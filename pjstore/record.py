"""ImageRecord: everything pjstore knows about a stored image besides its bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pjstore.offset_map import OffsetMap
from pjstore.quality.contract import QualityTarget


@dataclass(frozen=True)
class ImageRecord:
    id: str
    width: int  # stored (pre-orientation) pixel axes
    height: int
    color_space: str
    orientation: int
    source_bytes: int
    stored_bytes: int
    scheme: str
    scans: int
    thresholds: tuple[float, ...]
    offsets: OffsetMap
    stored_sha256: str  # of the stored file, so corruption is detectable (fsck)
    warnings: tuple[str, ...] = ()  # metadata repaired or dropped at ingest ("IccDropped: ...")

    @property
    def target(self) -> QualityTarget:
        """The quality target the offsets were measured against."""
        return QualityTarget(self.offsets.scales[:-1], self.thresholds, self.offsets.metric)

    def to_json(self) -> dict:
        """The `pjstore info` / HTTP info document."""
        return {
            "id": self.id,
            "width": self.width,
            "height": self.height,
            "color_space": self.color_space,
            "orientation": self.orientation,
            "source_bytes": self.source_bytes,
            "stored_bytes": self.stored_bytes,
            "scheme": self.scheme,
            "scans": self.scans,
            "metric": self.offsets.metric,
            "thresholds": list(self.thresholds),
            "scales": self.offsets.to_json(),
            "stored_sha256": self.stored_sha256,
            "warnings": list(self.warnings),
        }

    def dumps(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":")).encode()

    @classmethod
    def loads(cls, raw: bytes | memoryview) -> "ImageRecord":
        d = json.loads(bytes(raw))
        return cls(d["id"], d["width"], d["height"], d["color_space"], d["orientation"],
                   d["source_bytes"], d["stored_bytes"], d["scheme"], d["scans"],
                   tuple(d["thresholds"]), OffsetMap.from_json(d["metric"], d["scales"]), d["stored_sha256"],
                   tuple(d.get("warnings", [])))
