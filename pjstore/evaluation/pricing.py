"""What an image costs per year on each way of serving it: measured per-image figures times prices (pure).

A system is what eval/cost.py measured per image (means): the bytes it stores, the CPU and storage
writes of an upload, and per served size the bytes a view sends and the origin's CPU and storage
requests per CDN cache miss. Every system sits behind the same CDN, so a view costs egress and a
CDN request whoever serves it; only misses reach the origin.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from pjstore.evaluation.projection import Workload

GB = 1e9
SECONDS_PER_HOUR = 3600.0
MONTHS_PER_YEAR = 12

# Defaults: AWS list prices, us-east-1, on-demand, first tier, as published in 2024 (not fetched
# by the code: pass `--prices` with yours).
PRICES_DATED = "AWS list prices (us-east-1, on-demand, first tier) as published in 2024"
PRICE_SOURCES = {
    "storage_gb_month": "S3 Standard, first 50 TB: $0.023 per GB-month",
    "egress_gb": "CloudFront to the internet, US/Europe, first 10 TB: $0.085 per GB",
    "cpu_core_hour": "EC2 c6i.large on-demand, $0.085 per hour for 2 vCPUs: $0.0425 per vCPU-hour",
    "get_request": "S3 GET/HEAD: $0.0004 per 1,000",
    "put_request": "S3 PUT: $0.005 per 1,000",
    "cdn_request": "CloudFront HTTPS requests, US: $0.01 per 10,000",
}


@dataclass(frozen=True)
class Prices:
    """Dollars per unit: GB-month stored, GB sent, CPU core-hour, and per request."""

    storage_gb_month: float = 0.023
    egress_gb: float = 0.085
    cpu_core_hour: float = 0.0425
    get_request: float = 0.0004 / 1000
    put_request: float = 0.005 / 1000
    cdn_request: float = 0.01 / 10_000

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not (isinstance(value, float | int) and math.isfinite(value) and value >= 0):
                raise ValueError(f"price {f.name} must be a finite number >= 0, not {value!r}")

    @classmethod
    def parse(cls, text: str) -> Prices:
        """"egress_gb=0.05,cpu_core_hour=0.03": the defaults with those replaced (ValueError naming the problem)."""
        names = [f.name for f in dataclasses.fields(cls)]
        given: dict[str, float] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, value = item.partition("=")
            name = name.strip()
            if not sep or name not in names:
                raise ValueError(f"{item!r}: prices are NAME=DOLLARS with NAME one of {', '.join(names)}")
            try:
                given[name] = float(value)
            except ValueError:
                raise ValueError(f"{name}: {value.strip()!r} is not a number") from None
        return dataclasses.replace(cls(), **given)


@dataclass(frozen=True)
class System:
    """One way of serving images, as measured: means per image; the tuples have one value per size."""

    name: str
    stored_bytes: float  # everything kept per image
    upload_cpu_s: float  # CPU seconds of one upload (once per image)
    upload_puts: int  # storage writes per upload
    view_bytes: tuple[float, ...]  # bytes sent per view
    miss_cpu_s: tuple[float, ...]  # origin CPU seconds per cache miss
    miss_read_bytes: tuple[float, ...]  # stored bytes read per cache miss (in-region: not priced)
    miss_gets: int  # storage requests per cache miss

    def __post_init__(self) -> None:
        if not len(self.view_bytes) == len(self.miss_cpu_s) == len(self.miss_read_bytes) >= 1:
            raise ValueError(f"{self.name}: one view size, miss CPU and read per size")
        figures = (self.stored_bytes, self.upload_cpu_s, self.upload_puts, self.miss_gets,
                   *self.view_bytes, *self.miss_cpu_s, *self.miss_read_bytes)
        if not all(math.isfinite(x) and x >= 0 for x in figures):
            raise ValueError(f"{self.name}: measured figures must be finite and >= 0")


@dataclass(frozen=True)
class YearCost:
    """Dollars per image for one year of storage and views (the upload counted once, in that year)."""

    storage: float
    upload: float
    egress: float
    origin: float  # CPU and storage requests of the cache misses
    cdn_requests: float

    @property
    def total(self) -> float:
        return self.storage + self.upload + self.egress + self.origin + self.cdn_requests

    @property
    def fixed(self) -> float:
        """What does not grow with views."""
        return self.storage + self.upload


def _check(workload: Workload, hit_ratio: float, system: System) -> None:
    if not 0 <= hit_ratio <= 1:
        raise ValueError(f"the CDN hit ratio must be within 0..1, not {hit_ratio}")
    if len(workload.mix) != len(system.view_bytes):
        raise ValueError(f"the mix has {len(workload.mix)} shares for {len(system.view_bytes)} sizes")


def per_view(system: System, prices: Prices, mix: tuple[float, ...], hit_ratio: float) -> tuple[float, float, float]:
    """Dollars per view on `mix`: (egress, origin work, CDN request)."""
    egress = float(np.dot(mix, system.view_bytes)) / GB * prices.egress_gb
    miss = (float(np.dot(mix, system.miss_cpu_s)) / SECONDS_PER_HOUR * prices.cpu_core_hour
            + system.miss_gets * prices.get_request)
    return egress, (1 - hit_ratio) * miss, prices.cdn_request


def year_cost(system: System, prices: Prices, workload: Workload, hit_ratio: float) -> YearCost:
    """One image's year: `workload.requests_per_image` views, split by `workload.mix`."""
    _check(workload, hit_ratio, system)
    views = workload.requests_per_image
    egress, origin, cdn = per_view(system, prices, workload.mix, hit_ratio)
    return YearCost(storage=system.stored_bytes / GB * prices.storage_gb_month * MONTHS_PER_YEAR,
                    upload=system.upload_cpu_s / SECONDS_PER_HOUR * prices.cpu_core_hour
                    + system.upload_puts * prices.put_request,
                    egress=views * egress, origin=views * origin, cdn_requests=views * cdn)


def break_even(a: System, b: System, prices: Prices, workload: Workload, hit_ratio: float) -> float | None:
    """Views per image per year at which `a` and `b` cost the same; None when one is cheaper at every rate."""
    cost_a, cost_b = (year_cost(s, prices, dataclasses.replace(workload, requests_per_image=0), hit_ratio)
                      for s in (a, b))
    marginal_a, marginal_b = (sum(per_view(s, prices, workload.mix, hit_ratio)) for s in (a, b))
    if math.isclose(marginal_a, marginal_b, rel_tol=1e-12, abs_tol=0.0):
        return None
    views = (cost_a.fixed - cost_b.fixed) / (marginal_b - marginal_a)
    return views if views > 0 else None


def fleet_cost(system: System, prices: Prices, workload: Workload, hit_ratio: float) -> float:
    """Dollars per year for all `workload.images`."""
    return workload.images * year_cost(system, prices, workload, hit_ratio).total
