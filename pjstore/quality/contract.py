"""The quality contract, exactly as other tools check it.

reference = the source decoded with Pillow, converted to RGB, resized with ``Image.Resampling.LANCZOS`` to
the target size; candidate = ``stored[:offset] + EOI`` decoded and resized the same way; the
metric (PSNR over all RGB samples by default) must reach the scale's threshold.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from pjstore.encoder.pillow_open import open_jpeg
from pjstore.errors import CorruptJpeg
from pjstore.quality.metrics import METRICS, PERFECT
from pjstore.quality.sizes import DEFAULT_SCALES, target_size
from pjstore.render.colour import reference_colour
from pjstore.render.decode import EOI, decode


@dataclass(frozen=True)
class QualityTarget:
    """Scales to serve and the threshold each must meet under `metric` (a key of METRICS)."""

    scales: tuple[float, ...] = DEFAULT_SCALES
    thresholds: tuple[float, ...] = (32.0, 32.0, 32.0)
    metric: str = "psnr"

    def __post_init__(self) -> None:
        if not self.scales or list(self.scales) != sorted(set(self.scales)):
            raise ValueError("scales must be distinct and increasing")
        if any(not 0 < s < 1 for s in self.scales):
            raise ValueError("scales must lie strictly between 0 and 1 (1.0 is always the whole file)")
        if len(self.thresholds) != len(self.scales):
            raise ValueError("give one threshold per scale")
        if not all(math.isfinite(t) for t in self.thresholds):
            raise ValueError(f"thresholds must be finite numbers, not {self.thresholds}")
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {sorted(METRICS)}")
        if any(t > PERFECT[self.metric] for t in self.thresholds):
            raise ValueError(f"{self.metric} thresholds cannot exceed {PERFECT[self.metric]:g} (identical images), "
                             f"not {self.thresholds}")

    @classmethod
    def uniform(cls, scales: tuple[float, ...] = DEFAULT_SCALES, threshold: float = 32.0,
                metric: str = "psnr") -> QualityTarget:
        return cls(tuple(scales), (threshold,) * len(scales), metric)


def decode_rgb(jpeg: bytes | memoryview) -> Image.Image:
    """Decode with Pillow and convert to RGB, as the contract specifies.

    Raises CorruptJpeg when Pillow cannot decode the stream, so no caller depends on having
    validated it with jpegtran first.
    """
    with warnings.catch_warnings():  # pixel limits are pjstore's own, checked before decoding
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with open_jpeg(jpeg) as im:
                im.load()
                return im.convert("RGB")
        except (OSError, SyntaxError, ValueError) as exc:
            raise CorruptJpeg(f"cannot decode the image: {exc}") from None


def resized(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """LANCZOS resize to `size` as a uint8 HxWx3 array."""
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS))


def decode_prefix(stored: bytes | memoryview, offset: int) -> Image.Image:
    """The candidate image of a scan-complete prefix: ``stored[:offset] + EOI``, decoded."""
    return decode_rgb(bytes(stored[:offset]) + EOI)


@dataclass
class Reference:
    """The source's reference images at every target size, computed once per image."""

    image: Image.Image
    target: QualityTarget
    _cache: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    @classmethod
    def from_source(cls, source: bytes | memoryview, target: QualityTarget) -> Reference:
        """From the uploaded source, or equally from a whole stored file (same pixels: lossless)."""
        return cls(decode_rgb(source), target)

    @classmethod
    def served(cls, source: bytes | memoryview, target: QualityTarget, colour: str) -> Reference:
        """In the colour space a recipe with `colour` serves (see pjstore.render.colour)."""
        return cls(reference_colour(decode(bytes(source)), colour), target)

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height

    def size(self, scale: float) -> tuple[int, int]:
        return target_size(self.width, self.height, scale)

    def at(self, size: tuple[int, int]) -> np.ndarray:
        if size not in self._cache:
            self._cache[size] = resized(self.image, size)
        return self._cache[size]

    def score(self, candidate: Image.Image, scale: float) -> float:
        """The contract metric of `candidate` against the reference at `scale`."""
        size = self.size(scale)
        return METRICS[self.target.metric](self.at(size), resized(candidate, size))
