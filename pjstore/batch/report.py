"""The failure report: one JSON object per failed file, flushed as it happens."""

from __future__ import annotations

import json
import os

from pjstore.batch.outcome import Outcome


def failure_row(outcome: Outcome) -> dict:
    return {"path": str(outcome.path), "id": outcome.image_id, "error": str(outcome.error),
            "error_type": type(outcome.error).__name__}


class FailureReport:
    def __init__(self, path: str | os.PathLike):
        self._file = open(path, "w", encoding="utf-8")

    def write(self, outcome: Outcome) -> None:
        self._file.write(json.dumps(failure_row(outcome)) + "\n")
        self._file.flush()  # a killed batch still leaves every failure seen so far

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> FailureReport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
