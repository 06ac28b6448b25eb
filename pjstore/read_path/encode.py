"""Step 7: encode a baseline JPEG carrying no metadata but the colour profile."""

from __future__ import annotations

import io

from PIL import Image

DEFAULT_QUALITY = 85


def encode(image: Image.Image, quality: int = DEFAULT_QUALITY, icc_profile: bytes | None = None,
           subsampling: str | None = None) -> bytes:
    """`subsampling` ("4:4:4", "4:2:2", "4:2:0") overrides Pillow's default (4:2:0 for colour)."""
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be 1..100, not {quality}")
    out = io.BytesIO()
    extra = {"icc_profile": icc_profile} if icc_profile else {}
    if subsampling is not None:
        extra["subsampling"] = subsampling
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=False, **extra)
    return out.getvalue()
