"""Step 4: bring the decoded image to what is served: RGB (or L) in sRGB, or as decoded with its profile.

Renditions carry no profile unless the recipe keeps one: a source without a profile, or with one
equivalent to sRGB, is served as decoded; any other profile is converted to sRGB (recipe colour
"convert_resized", after the resize, or "convert", before it; imgproxy's default) or, behind an
ingest option, kept ("keep"). The reference a recipe is verified against goes through this same
function (converted before any resize, the ideal), so both are compared in the served colour space.
"""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    from PIL import ImageCms

CONVERT = "convert_resized"  # the conversion new recipes use (see pjstore.rendition.recipe.COLOURS)
CONVERTS = ("convert", CONVERT)
KEEP = "keep"  # a non-sRGB profile kept and attached (`--keep-profile`)
# A profile whose conversion to sRGB moves no colour of a grid over the RGB cube by more than
# lcms's rounding is sRGB under another name: 15 of the 20 hires photos carry such a 524-byte
# profile ("c2", within 1 level), while Adobe RGB, "Camera RGB" and the like move some by 58-140.
EQUIVALENT_LEVELS = 1
PROBE_STEP = 5  # grid levels 0, 5, ..., 255 on each channel: 52**3 colours, ~4 ms to convert


def srgb_equivalent(icc: bytes | None) -> bool:
    """Whether serving decoded pixels without `icc` shows the colours it describes (closely enough).
    Decided at write time only: a recipe that converts keeps converting (see `to_served`)."""
    if not icc:
        return True
    if icc[16:20] == b"GRAY":  # grey samples are served as such; their gamma is close to sRGB's
        return True
    try:
        from PIL import ImageCms

        description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    except Exception:  # an unreadable profile cannot be converted from either
        return True
    if "srgb" in description.lower().replace(" ", ""):
        return True
    if icc[16:20] != b"RGB ":
        return False
    import numpy as np

    probe = _probe()
    try:
        converted = ImageCms.applyTransform(probe, transform(icc, "RGB", "RGB"))
    except Exception:  # a profile lcms cannot use is served unconverted anyway
        return True
    assert converted is not None  # None only when converting in place, which this does not ask for
    moved = np.abs(np.asarray(converted, dtype=np.int16) - np.asarray(probe, dtype=np.int16))
    return int(moved.max()) <= EQUIVALENT_LEVELS


@functools.cache
def _probe() -> Image.Image:
    import numpy as np

    levels = np.arange(0, 256, PROBE_STEP, dtype=np.uint8)
    cube = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1)
    return Image.fromarray(np.ascontiguousarray(cube.reshape(1, -1, 3)), "RGB")


@functools.lru_cache(maxsize=16)
def transform(icc: bytes, mode: str, output_mode: str) -> ImageCms.ImageCmsTransform:
    """The ICC transform from `icc` to sRGB, built once per profile and modes (building one takes
    ~2 ms, as long as converting 0.15 MP). Without lcms's one-pixel cache, which every call writes,
    so render threads can share it; the pixels are the same."""
    from PIL import ImageCms

    return ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(icc)), ImageCms.createProfile("sRGB"),
                                   mode, output_mode, flags=ImageCms.Flags.NOCACHE)


def default_colour(icc: bytes | None, keep_profile: bool = False) -> str:
    """The recipe colour handling for a source with profile `icc`."""
    if srgb_equivalent(icc):
        return "none"
    # Only an RGB profile still describes the RGB samples served (a CMYK one would not).
    assert icc is not None  # no profile is sRGB-equivalent
    return KEEP if keep_profile and icc[16:20] == b"RGB " else CONVERT


def to_served(image: Image.Image, colour: str) -> tuple[Image.Image, bytes | None]:
    """`image` in RGB or L as `colour` says, and the profile to attach to the rendition (or None).

    A converting recipe converts whatever `srgb_equivalent` says now: recipes were given a
    conversion only for profiles it then found not equivalent, and records promise those pixels."""
    icc = image.info.get("icc_profile") or None
    if colour in CONVERTS and icc:
        try:
            from PIL import ImageCms

            converted = ImageCms.applyTransform(image, transform(icc, image.mode, "L" if image.mode == "L" else "RGB"))
            if converted is not None:  # None only when converting in place, which this does not ask for
                return converted, None
        except Exception:  # a profile lcms cannot use: serve the plain conversion below
            pass
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    return image, (icc if colour == KEEP else None)


def reference_colour(image: Image.Image, colour: str) -> Image.Image:
    """The whole source in the served colour space, as RGB (the contract compares RGB samples)."""
    served, _ = to_served(image, colour)
    return served.convert("RGB")
