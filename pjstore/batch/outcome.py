"""What the batch loop says about each input file."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pjstore.record import ImageRecord


class Status(Enum):
    OK = "ok"  # prepared and stored by this run
    SKIPPED = "skipped"  # already stored (by an earlier run, or an identical file earlier in this one)
    FAILED = "failed"  # unreadable or refused; the batch went on


@dataclass(frozen=True)
class Outcome:
    path: Path
    status: Status
    image_id: str | None = None  # None only when the file could not be read
    record: ImageRecord | None = None  # the stored record (OK and SKIPPED)
    error: Exception | None = None  # FAILED only

    def __post_init__(self) -> None:
        failed = self.status is Status.FAILED
        if failed != (self.error is not None) or failed == (self.record is not None):
            raise ValueError(f"a {self.status.value} outcome: FAILED has an error, OK and SKIPPED a record, never both")

    @property
    def stored(self) -> ImageRecord:
        """The stored record of an OK or SKIPPED outcome."""
        if self.record is None:
            raise ValueError(f"the {self.status.value} outcome for {self.path} has no stored record")
        return self.record
