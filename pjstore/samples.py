"""Sample JPEGs made from scikit-image's bundled photos: the default corpus, and every test input.

Each sample is encoded with Pillow at its own quality and chroma subsampling, so the set covers
the encoder settings real uploads come with.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}


@dataclass(frozen=True)
class Sample:
    name: str  # a function of skimage.data
    quality: int
    subsampling: str  # key of SUBSAMPLING; ignored for grayscale

    @property
    def filename(self) -> str:
        return f"{self.name}_q{self.quality}_{self.subsampling.replace(':', '')}.jpg"


DEFAULT_SAMPLES = (
    Sample("astronaut", 90, "4:2:0"),
    Sample("coffee", 85, "4:2:0"),
    Sample("chelsea", 75, "4:2:2"),
    Sample("rocket", 95, "4:4:4"),
    Sample("immunohistochemistry", 80, "4:2:0"),
    Sample("camera", 90, "4:2:0"),
    Sample("hubble_deep_field", 92, "4:2:0"),
    Sample("colorwheel", 70, "4:4:4"),
)


@functools.cache
def pixels(name: str) -> np.ndarray:
    """A bundled scikit-image photo as uint8 (H, W) or (H, W, 3), loaded once (read-only)."""
    import skimage.data

    image = getattr(skimage.data, name)()
    image = np.ascontiguousarray(image[..., :3]) if image.ndim == 3 else image
    image.setflags(write=False)
    return image


def encode(image: np.ndarray, quality: int = 90, subsampling: str = "4:2:0", **options) -> bytes:
    """Encode a uint8 array as JPEG with Pillow (extra `options` go to Image.save)."""
    out = io.BytesIO()
    Image.fromarray(image).save(out, "JPEG", quality=quality, subsampling=SUBSAMPLING[subsampling], **options)
    return out.getvalue()


def make(sample: Sample) -> bytes:
    return encode(pixels(sample.name), sample.quality, sample.subsampling)


def write_samples(directory: str | Path, samples: tuple[Sample, ...] = DEFAULT_SAMPLES) -> list[Path]:
    """Write the samples as JPEG files into `directory` (kept if already there)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for sample in samples:
        path = directory / sample.filename
        if not path.exists():
            path.write_bytes(make(sample))
        paths.append(path)
    return paths


def distinct(seed: int, max_side: int = 320) -> bytes:
    """A JPEG no other seed gives: a crop of a sample photo at a seed-chosen place, size and
    quality, for load and crash tests that need many different uploads."""
    rng = np.random.default_rng(seed)
    sample = DEFAULT_SAMPLES[seed % len(DEFAULT_SAMPLES)]
    photo = pixels(sample.name)
    h, w = (int(rng.integers(min(48, n), min(max_side, n) + 1)) for n in photo.shape[:2])
    top, left = int(rng.integers(0, photo.shape[0] - h + 1)), int(rng.integers(0, photo.shape[1] - w + 1))
    return encode(photo[top : top + h, left : left + w], int(rng.integers(70, 96)), sample.subsampling)
