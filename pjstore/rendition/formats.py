"""Output formats: a scale's served pixels encoded as WebP or AVIF instead of baseline JPEG.

A format rendition reads the same prefix, decodes, resizes and orients exactly as the scale's JPEG
recipe does (so bytes read are unchanged); only the encoder differs. Its setting is chosen at write
time like the JPEG quality: real encodes of the served pixels, each decoded by Pillow and graded
against the reference, the lowest quality meeting the threshold kept
(`pjstore.rendition.choose.choose_encoding`).

Encoder settings were chosen by measurement (eval/README.md, "Formats"): AVIF at libavif speed 6
(Pillow's default) is 15-20% smaller than speed 8 at ~3x the CPU, so renditions up to
`AVIF_SLOW_PIXELS` use 6 and larger ones 8, which keeps a 12 MP rendition's encode to ~2.5 s of CPU;
AVIF is tuned for PSNR (the contract's metric) at 4:4:4. WebP uses method 4 (libwebp's default):
method 6 saved 2-4% for twice the CPU; where no lossy quality meets the threshold, lossy with one
error-feedback pass and lossless of rounded pixels are tried (`_webp`), the fewer bytes kept.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, features

FORMATS = ("jpeg", "webp", "avif")
MODERN = FORMATS[1:]  # encoded per the row's stored Encoding; JPEG follows the Recipe
AVAILABLE = tuple(f for f in MODERN if features.check(f))  # what this Pillow encodes
MEDIA_TYPES = {"jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}
AVIF_SUBSAMPLINGS = ("4:2:0", "4:4:4")
# What new AVIF renditions use: tuned for PSNR, 4:4:4 served fewer bytes at the threshold than 4:2:0
# on nearly every rendition (even where the JPEG recipe is 4:2:0), so 4:2:0 is not searched.
AVIF_SUBSAMPLING = "4:4:4"
# aom's tune: libavif's default for stills is "iq" (perceptual); "psnr" serves 10% fewer bytes at the
# same PSNR threshold, and encodes faster (eval/README.md, "Formats").
AVIF_TUNES = ("psnr", "ssim", "iq")
AVIF_TUNE = "psnr"
AVIF_SLOW_PIXELS = 1_000_000
WEBP_METHOD = 4
WEBP_PASSES = 1  # error-feedback passes tried where plain WebP misses (a second one gained nothing)
# Lossless WebP's rounding steps, coarsest first (`Encoding.step`): answers on the shared photos were 8-16.
WEBP_STEPS = (24, 20, 16, 12, 10, 8, 6, 4, 2, 1)
# Where a format's quality search starts when no smaller scale has set one (bracketing from a good
# guess needs ~5 encodes instead of bisection's 8; the shared photos centre on these).
FIRST_GUESS = {"webp": 60, "avif": 50}


@dataclass(frozen=True)
class Encoding:
    """How one scale's pixels are encoded in a modern format."""

    format: str
    quality: int
    effort: int  # AVIF: libavif speed 0-10 (lower is slower, smaller); WebP: method 0-6
    subsampling: str = "4:2:0"  # AVIF only (WebP lossy is always 4:2:0)
    lossless: bool = False  # WebP only: used where no lossy quality meets the threshold
    tune: str | None = None  # AVIF only: aom's tune (None: libavif's default, as older records were made)
    passes: int = 0  # WebP lossy only: error-feedback passes before the encode that is served (`_webp`)
    step: int = 1  # WebP lossless only: each channel first rounded to a multiple of this (1: exact; `_webp`)

    def __post_init__(self) -> None:
        if self.format not in MODERN:
            raise ValueError(f"an Encoding's format is one of {MODERN}, not {self.format!r}")
        if not (isinstance(self.quality, int) and 1 <= self.quality <= 100):
            raise ValueError(f"quality must be 1..100, not {self.quality!r}")
        top = 10 if self.format == "avif" else 6
        if not (isinstance(self.effort, int) and 0 <= self.effort <= top):
            raise ValueError(f"{self.format} effort must be 0..{top}, not {self.effort!r}")
        if self.subsampling not in AVIF_SUBSAMPLINGS or (self.format == "webp" and self.subsampling != "4:2:0"):
            raise ValueError(f"subsampling {self.subsampling!r} is not one {self.format} encodes")
        if self.lossless and self.format != "webp":
            raise ValueError("only WebP renditions may be lossless")
        if self.tune is not None and (self.format != "avif" or self.tune not in AVIF_TUNES):
            raise ValueError(f"tune {self.tune!r} is not one {self.format} encodes with")
        if self.passes and (self.format != "webp" or self.lossless or not 0 < self.passes <= WEBP_PASSES):
            raise ValueError(f"passes must be 0..{WEBP_PASSES}, on lossy WebP only, not {self.passes!r}")
        if self.step != 1 and (not self.lossless or self.step not in WEBP_STEPS):
            raise ValueError(f"step must be one of {WEBP_STEPS}, on lossless WebP only, not {self.step!r}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> Encoding:
        return cls(format=d["format"], quality=d["quality"], effort=d["effort"],
                   subsampling=d["subsampling"], lossless=d["lossless"], tune=d.get("tune"),
                   passes=d.get("passes", 0), step=d.get("step", 1))


@dataclass(frozen=True)
class FormatRendition:
    """A row's verified setting for one format: what it serves and how that scores."""

    encoding: Encoding
    score: float
    served_bytes: int

    def to_json(self) -> dict:
        return {"encoding": self.encoding.to_json(), "score": self.score, "served_bytes": self.served_bytes}

    @classmethod
    def from_json(cls, d: dict) -> FormatRendition:
        return cls(Encoding.from_json(d["encoding"]), d["score"], d["served_bytes"])


def parse_format(text: str | None) -> str | None:
    """A requested format name (None: not given); ValueError naming the choices otherwise."""
    if text is None:
        return None
    name = text.strip().lower()
    if name == "jpg":
        name = "jpeg"
    if name not in FORMATS:
        raise ValueError(f"format {text!r} is not one of {', '.join(FORMATS)}")
    return name


def encode(image: Image.Image, encoding: Encoding, icc: bytes | None = None) -> bytes:
    """The served pixels in `encoding`'s format, carrying no metadata but a kept profile."""
    if image.mode != "RGB":  # neither encoder keeps Pillow's grey mode: grey is served as RGB
        image = image.convert("RGB")
    # Given always: Pillow's AVIF writer would otherwise attach the profile the decoded image carries.
    extra = {"icc_profile": icc or b"", "exif": b""}
    out = io.BytesIO()
    if encoding.format == "webp":
        return _webp(image, encoding, extra)
    advanced = {} if encoding.tune is None else {"tune": encoding.tune}
    image.save(out, "AVIF", quality=encoding.quality, speed=encoding.effort,
               subsampling=encoding.subsampling, advanced=advanced, **extra)
    return out.getvalue()


def _webp(image: Image.Image, encoding: Encoding, extra: dict) -> bytes:
    """WebP of `image`: lossless of it rounded to `step`, or lossy of it plus what each of `passes`
    previous encodes lost (deterministic, so the read path reproduces the verified bytes).

    Lossy WebP is always 4:2:0 from a plain RGB->YUV conversion (Pillow does not reach libwebp's
    sharp YUV or near-lossless modes): saturated edges lose 3-6 dB to chroma alone, so on some small
    renditions no quality meets the threshold. Adding the decoded error back to the input lets
    full-resolution luma absorb part of it (+0.3-0.7 dB at quality 95-100). Lossless WebP of exact
    pixels is 2-3x the JPEG; rounding each channel first (errors up to step/2) costs a few dB the
    served pixels have to spare and makes prediction residuals cheap: about 0.9x the JPEG."""
    def once(pixels: Image.Image) -> bytes:
        out = io.BytesIO()
        pixels.save(out, "WEBP", quality=encoding.quality, method=encoding.effort, lossless=encoding.lossless,
                    **extra)
        return out.getvalue()

    want = np.asarray(image, np.float64)
    if encoding.step > 1:
        return once(_rounded(np.rint(want / encoding.step) * encoding.step))
    data = once(image)
    shown = want
    for _ in range(encoding.passes):
        with Image.open(io.BytesIO(data)) as decoded:
            shown = shown + want - np.asarray(decoded.convert("RGB"), np.float64)
        data = once(_rounded(shown))
    return data


def _rounded(pixels: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))


def avif_speed(pixels: int) -> int:
    return 6 if pixels <= AVIF_SLOW_PIXELS else 8
