"""The restoration filter a recipe may carry: a small linear filter fit, at write time, to bring a
prefix's resized pixels closer to the reference (pure maths; the read path applies it).

A prefix lacks the coefficients that carry detail, and a DCT-scaled decode averages whole blocks,
so its resized pixels are systematically softer than the reference, in a way a 5x5 filter with
the square's symmetries largely undoes. The filter is fit per image and scale by least squares
against the reference (the contract's metric is squared error), so it can also only help where
the prefix is soft, and stored with its recipe: six taps and an offset. On every 20th shared photo
the first prefix whose pixels reach 33 dB fell from 0.072 to 0.058 of the source at 10%, 0.120
to 0.111 at 25% and 0.253 to 0.234 at 50%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RADIUS = 2  # a 5x5 kernel: what Pillow's Kernel filter applies in C
# The kernel's distinct taps up to the square's symmetries, as (row, column) offsets with row <= column.
TAPS = tuple((a, b) for a in range(RADIUS + 1) for b in range(a, RADIUS + 1))
# Each kernel position (row, column offset from the centre), row by row, with the tap it takes.
_POSITIONS = tuple(((i, j), TAPS.index((min(abs(i), abs(j)), max(abs(i), abs(j)))))
                   for i in range(-RADIUS, RADIUS + 1) for j in range(-RADIUS, RADIUS + 1))
MAX_TAP = 16.0  # far beyond any fit (centre taps of 1-3 were seen), so a corrupt record is refused
DIGITS = 4  # taps are stored rounded; the read path and the verification use the rounded ones
OWN_SIZE_BELOW = 0.75  # see Restoration.at
# Renditions of more pixels are not restored: the filter's cost grows with the output (78 ms at
# 3 MP, about a whole render at 50% of a 12 MP photo), the decode's much less. With no cap, full
# size took 1.29x libvips' CPU on 5 hires photos (0.54x unrestored).
MAX_PIXELS = 1 << 20
FIT_SAMPLES = 1 << 16  # above this many samples a spread of rows is fit (7 unknowns; 1 << 20 cost 3x the CPU)
RIDGE = 1e-6  # see fit; 1e-4 already read 2% more at 10% on 40 shared photos


@dataclass(frozen=True)
class Restoration:
    """A symmetric 5x5 filter and an offset, fit at `width` x `height` (stored axes) and applied to
    the image resized to a size near that (`at`)."""

    width: int
    height: int
    taps: tuple[float, ...]  # one per TAPS offset
    offset: float = 0.0  # added to every sample, in levels

    def __post_init__(self) -> None:
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (self.width, self.height)):
            raise ValueError(f"restoration size must be positive integers, not {self.width!r} x {self.height!r}")
        if len(self.taps) != len(TAPS):
            raise ValueError(f"restoration needs {len(TAPS)} taps, not {len(self.taps)}")
        numbers = (*self.taps, self.offset)
        if not all(isinstance(t, (int, float)) and math.isfinite(t) for t in numbers) or \
                max(map(abs, self.taps)) > MAX_TAP or abs(self.offset) > 255 * MAX_TAP:
            raise ValueError(f"restoration taps must be finite and within ±{MAX_TAP:g} "
                             f"(offset within ±{255 * MAX_TAP:g}): {self.taps}, {self.offset}")

    def at(self, size: tuple[int, int]) -> tuple[int, int]:
        """The size to restore a rendition of `size` at: its own, unless it is much smaller than the
        fit's (the prefix's softness spans fewer of its pixels, and the filter would over-sharpen),
        when the fit's own size, resized down after. Near the fit's size a second resize would
        blur more than the filter's mismatch costs: on 40 shared photos restoring at the fit's
        size and resizing missed the threshold only at 99 px from 100, restoring at the requested
        size only at 0.1-0.56 of the fit's."""
        if min(s / own for s, own in zip(size, (self.width, self.height), strict=True)) < OWN_SIZE_BELOW:
            return (self.width, self.height)
        return size

    def kernel(self) -> tuple[float, ...]:
        """The full 5x5 kernel, row by row."""
        return tuple(self.taps[tap] for _, tap in _POSITIONS)

    def to_json(self) -> dict:
        return {"width": self.width, "height": self.height, "taps": list(self.taps), "offset": self.offset}

    @classmethod
    def from_json(cls, d: dict) -> Restoration:
        return cls(width=d["width"], height=d["height"], taps=tuple(d["taps"]), offset=d["offset"])


def _shifted_sums(padded: np.ndarray, rows: np.ndarray, width: int) -> list[np.ndarray]:
    """Per tap, the sum of the samples at every kernel position taking it, at `rows` (HxW[xC])."""
    out = [np.zeros((len(rows), width) + padded.shape[2:]) for _ in TAPS]
    for (di, dj), tap in _POSITIONS:
        out[tap] += padded[rows + RADIUS + di, RADIUS + dj:RADIUS + dj + width]
    return out


def padded(pixels: np.ndarray) -> np.ndarray:
    """`pixels` (HxW or HxWxC) with RADIUS samples of edge repeated around: how the filter meets the border."""
    pad = ((RADIUS, RADIUS), (RADIUS, RADIUS)) + ((0, 0),) * (pixels.ndim - 2)
    return np.pad(pixels, pad, mode="edge")


def fit(pixels: np.ndarray, reference: np.ndarray) -> Restoration | None:
    """The least-squares filter from `pixels` (HxW grey or HxWx3, uint8) to `reference` (HxWx3;
    its first channel for grey), taps rounded to DIGITS; None when it would leave MAX_TAP's bounds.

    The solve is damped towards the identity (RIDGE times each column's own energy), which leaves
    a textured image's fit as it is and keeps a flat or tiny one, where the taps are not
    determined, from taking arbitrary values. A column's energy is a sum of squared integers, so
    at least 1 unless the column is all zeros (black wherever it was sampled, where the system
    would be singular): flooring it at 1 damps such a column as the faintest there can be, which
    leaves its tap at the identity's."""
    height, width = pixels.shape[:2]
    want = reference[..., 0] if pixels.ndim == 2 else reference
    per_row = want[0].size
    rows = np.arange(height) if height * per_row <= FIT_SAMPLES else \
        np.unique(np.linspace(0, height - 1, max(1, FIT_SAMPLES // per_row)).astype(np.intp))
    sums = _shifted_sums(padded(pixels.astype(np.float32)), rows, width)
    columns = np.stack([s.ravel() for s in sums] + [np.ones(sums[0].size)], axis=1)
    target = want[rows].astype(np.float64).ravel()
    gram = columns.T @ columns
    damping = RIDGE * np.maximum(np.diag(gram), 1.0)
    identity = np.zeros(len(TAPS) + 1)
    identity[0] = 1.0
    solution = np.linalg.solve(gram + np.diag(damping), columns.T @ target + damping * identity)
    taps = tuple(round(float(t), DIGITS) for t in solution[:-1])
    try:
        return Restoration(width, height, taps, round(float(solution[-1]), DIGITS - 2))
    except ValueError:
        return None
