"""Steps of a plan: one component's coefficient sent down to one more bit (T.81 successive
approximation), and what a decoder reconstructs from the bits sent so far."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pjstore.encoder.scan import MAX_AL, NUM_COEFFICIENTS

NOT_SENT = MAX_AL + 1  # "bit level" of a coefficient no scan has touched yet


@dataclass(frozen=True)
class Step:
    """Coefficient `k` (zigzag) of `component` goes from bit level `ah` to `al`; ah = 0 marks its
    first scan (it was not sent before), otherwise ah = al + 1 (one refinement bit)."""

    component: int
    k: int
    ah: int
    al: int

    def __post_init__(self) -> None:
        if not 0 <= self.k < NUM_COEFFICIENTS or self.component < 0:
            raise ValueError(f"{self}: no such coefficient")
        if not 0 <= self.al <= MAX_AL or self.ah not in (0, self.al + 1):
            raise ValueError(f"{self}: a step sends a first scan (ah=0) or one bit (ah=al+1)")

    @property
    def is_dc(self) -> bool:
        return self.k == 0


def reconstruct(values: np.ndarray, level: int, dc: bool) -> np.ndarray:
    """What a decoder holds for `values` sent down to bit `level` (NOT_SENT: zero).

    T.81 point transform: DC is an arithmetic shift, AC shifts the magnitude and keeps the sign.
    """
    if level >= NOT_SENT:
        return np.zeros_like(values)
    if dc:
        return (values >> level) << level
    return np.sign(values) * ((np.abs(values) >> level) << level)


def first_level(values: np.ndarray, a_depth: int, dc: bool) -> int:
    """The bit level a coefficient's first scan sends: a_depth - 1, lowered until the step helps.

    An AC value above its top bit would be an all-zero step; a DC value's arithmetic shift rounds
    towards minus infinity, so a coarse DC scan of small values (flat chroma) adds error. Either
    would leave the greedy stuck before a step with no gain (and, for DC, before all its AC).
    """
    level = _top_level(int(np.abs(values).max(initial=0)), a_depth)
    if not dc:
        return level
    energy = float(np.sum(values.astype(np.float64) ** 2))
    while level > 0 and float(np.sum((values - reconstruct(values, level, True)) ** 2.0)) >= energy / 4:
        level -= 1
    return level


def first_levels(coefs: np.ndarray, a_depth: int, dc_a_depth: int) -> list[int]:
    """`first_level` of all 64 coefficients of one component (blocks_y x blocks_x x 64), the AC
    ones from one pass over the blocks rather than one strided pass each."""
    tops = np.abs(coefs.reshape(-1, 64)).max(axis=0, initial=0)
    return [first_level(coefs[:, :, 0], dc_a_depth, True)] + [_top_level(int(t), a_depth) for t in tops[1:]]


def _top_level(top: int, a_depth: int) -> int:
    """a_depth - 1, lowered to the highest bit any value has (an all-zero step helps nothing)."""
    return max(0, min(a_depth - 1, top.bit_length() - 1, MAX_AL))


def next_step(component: int, k: int, level: int, first: int) -> Step | None:
    """The step after `level` (the coefficient's current bit level), or None when complete."""
    if level == 0:
        return None
    if level >= NOT_SENT:
        return Step(component, k, 0, first)
    return Step(component, k, level, level - 1)
