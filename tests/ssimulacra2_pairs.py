"""The SSIMULACRA 2 fixture's image pairs, made deterministically from scikit-image's sample photos,
and the script that scores them with the reference implementation.

Each pair is a reference and a distorted image of one size: an encode (libjpeg-turbo through Pillow
at 4:2:0 and 4:4:4, WebP, AVIF), a Gaussian blur, or a resize with another kernel than the LANCZOS
reference, at sizes from 8x8 to 12 MP. The fixture records how each was made, a hash of both images'
pixels (so an encoder that changes shows as a clear failure, not a silent pass) and the reference's
score. To regenerate it (see tests/fixtures/README.md for the reference build it was made with):

    python tests/ssimulacra2_pairs.py PATH/TO/ssimulacra2 COMMIT [OUT]

(COMMIT: the cloudinary/ssimulacra2 commit the binary was built from, recorded in the fixture; OUT:
tests/fixtures/ssimulacra2_scores.json unless given.)
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, features

FIXTURE = Path(__file__).parent / "fixtures" / "ssimulacra2_scores.json"
FORMAT_VERSION = 1
SLOW_PIXELS = 1_500_000
"""Pairs above this many pixels are left to the slow run."""

_KINDS = ("jpeg", "webp", "avif", "blur", "resize")
_KERNELS = {k.name: k for k in Image.Resampling}


@dataclass(frozen=True)
class Pair:
    """One reference/distorted pair: `source` (a skimage.data photo, grey if `grey`, tiled
    `tile` x `tile` times), LANCZOS-resized to `size` (w, h) if given, then distorted by `kind`
    at `setting`: jpeg "Q 4:2:0" or "Q 4:4:4"; webp / avif "Q"; blur "RADIUS"; resize "KERNEL"
    (the distorted image is the source resized to `size` with that kernel instead)."""

    source: str
    kind: str
    setting: str
    size: tuple[int, int] | None = None
    grey: bool = False
    tile: int = 1

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}")
        if self.kind == "resize" and (self.size is None or self.setting not in _KERNELS):
            raise ValueError("a resize pair needs a size and a Pillow resampling kernel")

    @property
    def id(self) -> str:
        size = "x".join(map(str, self.size)) if self.size else "native"
        tile = f"-tile{self.tile}" if self.tile > 1 else ""
        grey = "-grey" if self.grey else ""
        return f"{self.source}{grey}{tile}-{size}-{self.kind}-{self.setting.replace(' ', '-').replace(':', '')}"

    @property
    def made(self) -> str:
        """How the pair is made, in words (the fixture's record of it)."""
        steps = [f"skimage.data.{self.source}()" + (" as L" if self.grey else " as RGB")]
        if self.tile > 1:
            steps.append(f"tiled {self.tile}x{self.tile}")
        if self.kind == "resize":
            steps.append(f"reference: LANCZOS to {self.size}; distorted: {self.setting} to {self.size}")
            return ", ".join(steps)
        if self.size:
            steps.append(f"LANCZOS to {self.size}")
        steps.append({"jpeg": "Pillow JPEG quality/subsampling", "webp": "Pillow WebP quality",
                      "avif": "Pillow AVIF quality (1 thread)", "blur": "Pillow GaussianBlur radius"}[self.kind]
                     + f" {self.setting}, decoded")
        return ", ".join(steps)

    @property
    def pixels(self) -> int:
        if self.size:
            return self.size[0] * self.size[1]
        return int(np.prod(_source(self.source, self.grey, self.tile).size))

    @property
    def needs(self) -> str | None:
        """The Pillow feature the pair needs, if any."""
        return self.kind if self.kind in ("webp", "avif") else None

    def make(self) -> tuple[np.ndarray, np.ndarray]:
        source = _source(self.source, self.grey, self.tile)
        if self.kind == "resize":
            assert self.size is not None
            return (np.asarray(source.resize(self.size, Image.Resampling.LANCZOS)),
                    np.asarray(source.resize(self.size, _KERNELS[self.setting])))
        base = source.resize(self.size, Image.Resampling.LANCZOS) if self.size else source
        return np.asarray(base), np.asarray(self._distort(base))

    def _distort(self, image: Image.Image) -> Image.Image:
        if self.kind == "blur":
            return image.filter(ImageFilter.GaussianBlur(float(self.setting)))
        quality, *rest = self.setting.split()
        options: dict[str, object] = {"quality": int(quality)}
        if self.kind == "jpeg":
            options["subsampling"] = {"4:4:4": 0, "4:2:0": 2}[rest[0]]
        if self.kind == "avif":
            options["max_threads"] = 1
        buf = io.BytesIO()
        image.save(buf, self.kind.upper(), **options)
        with Image.open(buf) as decoded:
            return decoded.convert(image.mode)


def _source(name: str, grey: bool, tile: int) -> Image.Image:
    import skimage.data

    image = Image.fromarray(getattr(skimage.data, name)()).convert("L" if grey else "RGB")
    if tile > 1:
        image = Image.fromarray(np.tile(np.asarray(image), (tile, tile) + (() if grey else (1,))))
    return image


def pixel_hash(image: np.ndarray) -> str:
    """sha256 of an image's shape and pixels (first 16 hex digits)."""
    return hashlib.sha256(repr(image.shape).encode() + image.tobytes()).hexdigest()[:16]


def _jpegs(source: str, size: tuple[int, int] | None, *settings: str, grey: bool = False) -> list[Pair]:
    return [Pair(source, "jpeg", s, size, grey) for s in settings]


PAIRS: tuple[Pair, ...] = (
    # libjpeg-turbo q10-95, both subsamplings, photos of every kind at their own size
    *_jpegs("astronaut", None, "10 4:2:0", "30 4:2:0", "50 4:2:0", "70 4:2:0", "90 4:2:0", "95 4:4:4"),
    *_jpegs("chelsea", None, "20 4:2:0", "40 4:4:4", "60 4:2:0", "80 4:4:4", "95 4:2:0"),
    *_jpegs("coffee", None, "15 4:4:4", "45 4:2:0", "75 4:2:0", "85 4:4:4"),
    *_jpegs("rocket", None, "25 4:2:0", "65 4:4:4", "92 4:2:0"),
    *_jpegs("immunohistochemistry", None, "35 4:4:4", "80 4:2:0"),
    *_jpegs("colorwheel", None, "50 4:2:0", "90 4:4:4"),
    *_jpegs("camera", None, "10 4:2:0", "50 4:2:0", "90 4:2:0", "95 4:2:0", grey=True),
    *_jpegs("coins", None, "70 4:2:0", grey=True),
    *_jpegs("hubble_deep_field", None, "60 4:2:0"),
    *_jpegs("retina", None, "85 4:4:4"),
    # small renditions down to the reference's 8x8 minimum (odd sizes: its edge-repeating halving)
    *_jpegs("astronaut", (64, 64), "50 4:2:0"),
    *_jpegs("chelsea", (64, 43), "80 4:2:0"),
    *_jpegs("astronaut", (33, 50), "80 4:2:0"),
    *_jpegs("camera", (96, 96), "30 4:2:0", grey=True),
    *_jpegs("coffee", (8, 8), "50 4:2:0"),
    Pair("rocket", "blur", "0.8", (9, 13)),
    Pair("coffee", "webp", "75", (100, 67)),
    Pair("astronaut", "avif", "50", (200, 200)),
    # WebP and AVIF
    Pair("astronaut", "webp", "30"), Pair("chelsea", "webp", "60"), Pair("rocket", "webp", "90"),
    Pair("coffee", "avif", "30"), Pair("immunohistochemistry", "avif", "60"), Pair("chelsea", "avif", "85"),
    # Gaussian blur
    Pair("astronaut", "blur", "0.5"), Pair("coffee", "blur", "1"), Pair("camera", "blur", "2", grey=True),
    Pair("rocket", "blur", "4"),
    # other resize kernels than the LANCZOS reference, at rendition sizes
    Pair("astronaut", "resize", "NEAREST", (256, 256)), Pair("chelsea", "resize", "BILINEAR", (225, 150)),
    Pair("coffee", "resize", "BICUBIC", (150, 100)), Pair("rocket", "resize", "BOX", (320, 213)),
    Pair("astronaut", "resize", "HAMMING", (50, 50)), Pair("chelsea", "resize", "BILINEAR", (50, 33)),
    # upscaled and tiled: 1-2 MP in the default run, up to 12 MP in the slow one
    *_jpegs("astronaut", (1200, 1000), "85 4:2:0"),
    *_jpegs("camera", (1000, 1000), "75 4:2:0", grey=True),
    *_jpegs("astronaut", (4000, 3000), "60 4:2:0"),
    *_jpegs("astronaut", (4000, 3000), "95 4:4:4"),
    Pair("chelsea", "jpeg", "90 4:2:0", (4000, 3000), tile=4),
    Pair("retina", "webp", "80", (3000, 3000)),
    Pair("coffee", "blur", "1.5", (4000, 3000), tile=3),
)


def score_with_reference(binary: Path, reference: np.ndarray, distorted: np.ndarray) -> float:
    """The reference's score of a pair, through PNG files (lossless, sRGB by default)."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / "reference.png", Path(tmp) / "distorted.png"]
        for path, image in zip(paths, (reference, distorted), strict=True):
            Image.fromarray(image).save(path)
        done = subprocess.run([str(binary), *map(str, paths)], capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    binary, commit, out = Path(argv[1]), argv[2], Path(argv[3]) if len(argv) == 4 else FIXTURE
    version = subprocess.run([str(binary)], capture_output=True, text=True).stderr.splitlines()[0]
    rows = []
    for pair in PAIRS:
        if pair.needs and not features.check(pair.needs):
            print(f"skipped {pair.id}: this Pillow has no {pair.needs}", file=sys.stderr)
            continue
        reference, distorted = pair.make()
        score = score_with_reference(binary, reference, distorted)
        rows.append({"id": pair.id, "made": pair.made, "reference_pixels": pixel_hash(reference),
                     "distorted_pixels": pixel_hash(distorted), "score": round(score, 6)})
        print(f"{pair.id}: {score:.4f}", file=sys.stderr)
    fixture = {"version": FORMAT_VERSION, "reference": {"program": version, "commit": commit},
               "encoders": {name: features.version(name) for name in ("libjpeg_turbo", "webp", "avif")},
               "pairs": rows}
    out.write_text(json.dumps(fixture, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
