"""The refinement queue's entries: one per provisional upload, kept in the store beside its image.

An entry is written with its provisional image (in one LMDB transaction; on S3 just before the
image's commit point), so a stored provisional record always has one. A refiner claims an entry
by writing a lease into it (a conditional write: two refiners cannot both hold one), renews the
lease while it works, and the entry goes in the same write that swaps the refined file and record
in (Storage.swap). A refiner killed midway leaves its lease to expire; the next one takes the
entry over. Entries are versioned JSON, read by keyword.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace

from pjstore.errors import CorruptRecord

VERSION = 1
MAX_ATTEMPTS = 3  # refinements begun (each after a lease expired or a crash) before one is given up


@dataclass(frozen=True)
class QueueEntry:
    image_id: str
    enqueued: float  # seconds since the epoch
    attempts: int = 0  # claims so far
    lease_until: float = 0.0  # a refiner holds the entry until then (0: none has yet)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.enqueued) and math.isfinite(self.lease_until) and self.attempts >= 0):
            raise ValueError(f"invalid queue entry for {self.image_id}")

    def claimable(self, now: float) -> bool:
        """No refiner holds it (never claimed, or its lease expired) and it has attempts left."""
        return self.lease_until <= now and self.attempts < MAX_ATTEMPTS

    def given_up(self, now: float) -> bool:
        """Every attempt was claimed and the last one's lease ran out: the image stays provisional
        (served at its promise) until `fsck --repair` queues it again."""
        return self.lease_until <= now and self.attempts >= MAX_ATTEMPTS

    def claimed(self, now: float, lease: float) -> QueueEntry:
        return replace(self, attempts=self.attempts + 1, lease_until=now + lease)

    def renewed(self, now: float, lease: float) -> QueueEntry:
        return replace(self, lease_until=now + lease)

    def dumps(self) -> bytes:
        return json.dumps({"v": VERSION, "id": self.image_id, "enqueued": self.enqueued,
                           "attempts": self.attempts, "lease_until": self.lease_until}).encode()

    @classmethod
    def loads(cls, raw: bytes | memoryview) -> QueueEntry:
        try:
            d = json.loads(bytes(raw))
            if d.get("v") != VERSION:
                raise CorruptRecord(f"queue entry version {d.get('v')!r} is not one this pjstore reads")
            return cls(d["id"], float(d["enqueued"]), int(d["attempts"]), float(d["lease_until"]))
        except CorruptRecord:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CorruptRecord(f"queue entry cannot be read: {type(exc).__name__}: {exc}") from None
