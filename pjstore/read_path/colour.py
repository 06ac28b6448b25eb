"""Step 4: bring the decoded image to RGB (or L), using the ICC profile for CMYK sources."""

from __future__ import annotations

import io

from PIL import Image


def to_display(image: Image.Image) -> tuple[Image.Image, bytes | None]:
    """Return the image in RGB or L and the ICC profile that still describes it (or None)."""
    icc = image.info.get("icc_profile") or None
    if image.mode in ("RGB", "L"):
        return image, icc
    if image.mode == "CMYK" and icc and icc[16:20] == b"CMYK":
        try:
            from PIL import ImageCms

            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(image, src, ImageCms.createProfile("sRGB"), outputMode="RGB"), None
        except Exception:  # an unusable profile: fall back to the plain conversion below
            pass
    return image.convert("RGB"), None
