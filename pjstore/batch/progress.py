"""The progress bar (rate and ETA) on stderr, silent when stderr is not a terminal."""

from __future__ import annotations

import sys

from tqdm import tqdm

from pjstore.batch.outcome import Outcome, Status


class Progress:
    def __init__(self, total: int):
        # disable=None: tqdm turns itself off when stderr is not a terminal (logs, pipes, CI).
        self._bar = tqdm(total=total, unit="img", file=sys.stderr, disable=None, dynamic_ncols=True)
        self._counts = {status: 0 for status in Status}

    def advance(self, outcome: Outcome) -> None:
        self._counts[outcome.status] += 1
        self._bar.set_postfix({s.value: n for s, n in self._counts.items()}, refresh=False)
        self._bar.update()

    def echo(self, line: str, err: bool = False) -> None:
        """Print a line above the bar without tearing it."""
        tqdm.write(line, file=sys.stderr if err else sys.stdout)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
