"""Bytes at an image host's scale: the measured per-image means times a workload (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Workload:
    images: int
    requests_per_image: float  # uncached reads over the period considered
    mix: tuple[float, ...]  # share of requests per served scale, the last for the whole image

    def __post_init__(self) -> None:
        if self.images < 1 or self.requests_per_image < 0:
            raise ValueError("images must be positive and requests non-negative")
        if any(m < 0 for m in self.mix) or not math.isclose(sum(self.mix), 1.0, abs_tol=1e-6):
            raise ValueError(f"the request mix must be non-negative shares summing to 1, not {self.mix}")


@dataclass(frozen=True)
class Projection:
    stored_bytes: float  # capacity for all images
    read_bytes: float  # storage read traffic for all requests


def project(stored_per_image: float, reads_per_image: np.ndarray, workload: Workload) -> Projection:
    """`reads_per_image`: mean bytes read per request at each scale of the mix, in the mix's order."""
    if len(reads_per_image) != len(workload.mix):
        raise ValueError(f"the mix has {len(workload.mix)} shares for {len(reads_per_image)} sizes")
    per_request = float(np.dot(workload.mix, reads_per_image))
    return Projection(workload.images * stored_per_image,
                      workload.images * workload.requests_per_image * per_request)
