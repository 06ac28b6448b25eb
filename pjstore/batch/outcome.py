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
