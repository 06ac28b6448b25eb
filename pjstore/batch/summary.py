"""The closing summary of a batch: counts, bytes, mean read fraction per scale, throughput."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from pjstore.batch.outcome import Outcome, Status


@dataclass(frozen=True)
class Summary:
    ok: int
    failed: int
    skipped: int
    bytes_in: int  # source bytes of the images this run stored
    bytes_stored: int  # their stored bytes
    read_fractions: tuple[tuple[float, float], ...]  # (scale, mean of offset / source bytes)
    seconds: float
    interrupted: bool = False

    @property
    def images_per_second(self) -> float:
        """Images prepared and stored per second (skips are not work, so they do not count)."""
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        total = self.ok + self.failed + self.skipped
        head = "interrupted after" if self.interrupted else "done:"
        out = [f"{head} {total} files: {self.ok} ok, {self.failed} failed, {self.skipped} skipped "
               f"in {self.seconds:.1f} s ({self.images_per_second:.2f} images/s)"]
        if self.ok:
            out.append(f"bytes in {self.bytes_in}, stored {self.bytes_stored} "
                       f"({self.bytes_stored / self.bytes_in:.3f}x)")
            out.append("mean read fraction: " + " ".join(f"{s:g}:{f:.3f}" for s, f in self.read_fractions))
        return out


class Tally:
    """Accumulates outcomes in O(scales) memory, however many images go by."""

    def __init__(self) -> None:
        self._counts = {status: 0 for status in Status}
        self._bytes_in = 0
        self._bytes_stored = 0
        self._fraction_sums: defaultdict[float, float] = defaultdict(float)

    def add(self, outcome: Outcome) -> None:
        self._counts[outcome.status] += 1
        if outcome.status is Status.OK:
            r = outcome.stored
            self._bytes_in += r.source_bytes
            self._bytes_stored += r.stored_bytes
            for e in r.offsets.entries[:-1]:  # the last entry is the whole file
                self._fraction_sums[e.scale] += e.offset / r.source_bytes

    def summary(self, seconds: float, interrupted: bool = False) -> Summary:
        ok = self._counts[Status.OK]
        fractions = tuple((s, total / ok) for s, total in sorted(self._fraction_sums.items()))
        return Summary(ok, self._counts[Status.FAILED], self._counts[Status.SKIPPED], self._bytes_in,
                       self._bytes_stored, fractions, seconds, interrupted)
