"""The quality search: the lowest encoder quality whose rendition, decoded, meets a threshold,
and the graders it is scored by (the contract's metric against the reference at the served size,
made upright)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
from PIL import Image

from pjstore.quality.contract import Reference, decode_rgb
from pjstore.quality.metrics import METRICS
from pjstore.render import pipeline
from pjstore.render.orient import orient
from pjstore.rendition.recipe import Recipe

T = TypeVar("T")

@dataclass(frozen=True)
class Encoded:
    data: bytes
    score: float


class Encodings:
    """Served pixels encoded as a recipe says, by quality: the bytes, and graded (each made once)."""

    def __init__(self, served: Image.Image, icc: bytes | None, recipe: Recipe, grade: Callable[[bytes], float]):
        self.served, self.icc, self.recipe, self.grade = served, icc, recipe, grade
        self.encodes: dict[int, bytes] = {}
        self.scored: dict[int, Encoded] = {}

    def data(self, q: int) -> bytes:
        if q not in self.encodes:
            self.encodes[q] = pipeline.encode_pixels(self.served, replace(self.recipe, quality=q), self.icc)
        return self.encodes[q]

    def graded(self, q: int) -> Encoded:
        if q not in self.scored:
            data = self.data(q)
            self.scored[q] = Encoded(data, self.grade(data))
        return self.scored[q]


def lowest_quality(at: Callable[[int], T], meets: Callable[[T], bool],
                   guess: int | None = None) -> tuple[int, T] | None:
    """The lowest quality in 1..100 whose encoding meets the target, assuming the score rises with
    quality (libjpeg's scaled tables, up to rounding); None when even 100 misses. With a `guess`
    (say, the answer for a neighbouring prefix) it gallops from there before bisecting, which
    takes a few encodes instead of seven when the guess is close."""
    tried: dict[int, T] = {}

    def get(q: int) -> T:
        if q not in tried:
            tried[q] = at(q)
        return tried[q]

    lo, hi = 1, 100  # invariant: `hi` meets, everything below `lo` misses
    if guess is not None and 1 <= guess <= 100:
        step = 1
        if meets(get(guess)):
            hi = guess
            while hi > 1 and meets(get(max(1, hi - step))):
                hi, step = max(1, hi - step), 2 * step
            lo = max(1, hi - step + 1)
        else:
            lo = guess + 1
            while lo <= 100 and not meets(get(min(100, guess + step))):
                lo, step = min(100, guess + step) + 1, 2 * step
            if lo > 100:
                return None
            hi = min(100, guess + step)
    elif not meets(get(100)):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if meets(get(mid)):
            hi = mid
        else:
            lo = mid + 1
    return hi, get(hi)


def upright(reference: Reference, size: tuple[int, int], orientation: int) -> np.ndarray:
    """The reference at `size`, made upright: what served pixels are graded against."""
    return np.asarray(orient(Image.fromarray(reference.at(size)), orientation))


def pixel_grader(reference: Reference, size: tuple[int, int], orientation: int) -> Callable[[Image.Image], float]:
    """The contract score of served pixels (RGB or L), against the reference at `size`, made upright."""
    return grading(upright(reference, size, orientation), reference.target.metric)


def grading(want: np.ndarray, metric: str) -> Callable[[Image.Image], float]:
    """The `metric` score of pixels (RGB or L) against `want` (RGB)."""
    score = METRICS[metric]
    return lambda image: score(want, np.asarray(image.convert("RGB")))


def grader(reference: Reference, size: tuple[int, int], orientation: int) -> Callable[[bytes], float]:
    """The contract score of a served JPEG: decoded, against the reference at `size`, made upright."""
    grade = pixel_grader(reference, size, orientation)
    return lambda data: grade(decode_rgb(data))
