"""Step 7: encode a baseline JPEG carrying no metadata but the colour profile."""

from __future__ import annotations

import io

from PIL import Image

DEFAULT_QUALITY = 85


def encode(image: Image.Image, quality: int = DEFAULT_QUALITY, icc_profile: bytes | None = None) -> bytes:
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be 1..100, not {quality}")
    out = io.BytesIO()
    extra = {"icc_profile": icc_profile} if icc_profile else {}
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=False, **extra)
    return out.getvalue()
