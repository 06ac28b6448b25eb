"""Step 4: bring the decoded image to what is served: RGB (or L) in sRGB, or as decoded with its profile.

Renditions carry no profile unless the recipe keeps one: a source without a profile, or with one
equivalent to sRGB, is served as decoded; any other profile is converted to sRGB (recipe colour
"convert_resized", after the resize, or "convert", before it; imgproxy's default) or, behind an
ingest option, kept ("keep"). The reference a recipe is verified against goes through this same
function (converted before any resize, the ideal), so both are compared in the served colour space.
"""

from __future__ import annotations

import io

from PIL import Image

CONVERT = "convert_resized"  # the conversion new recipes use (see pjstore.rendition.recipe.COLOURS)
CONVERTS = ("convert", CONVERT)
KEEP = "keep"  # a non-sRGB profile kept and attached (`--keep-profile`)

def srgb_equivalent(icc: bytes | None) -> bool:
    """Whether serving decoded pixels without `icc` shows the colours it describes (closely enough)."""
    if not icc:
        return True
    if icc[16:20] == b"GRAY":  # grey samples are served as such; their gamma is close to sRGB's
        return True
    try:
        from PIL import ImageCms

        description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    except Exception:  # an unreadable profile cannot be converted from either
        return True
    return "srgb" in description.lower().replace(" ", "")


def default_colour(icc: bytes | None, keep_profile: bool = False) -> str:
    """The recipe colour handling for a source with profile `icc`."""
    if srgb_equivalent(icc):
        return "none"
    # Only an RGB profile still describes the RGB samples served (a CMYK one would not).
    assert icc is not None  # no profile is sRGB-equivalent
    return KEEP if keep_profile and icc[16:20] == b"RGB " else CONVERT


def to_served(image: Image.Image, colour: str) -> tuple[Image.Image, bytes | None]:
    """`image` in RGB or L as `colour` says, and the profile to attach to the rendition (or None)."""
    icc = image.info.get("icc_profile") or None
    if colour in CONVERTS and icc and not srgb_equivalent(icc):
        try:
            from PIL import ImageCms

            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            mode = "L" if image.mode == "L" else "RGB"
            converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=mode)
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
