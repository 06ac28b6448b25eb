"""Step 8: encode a baseline JPEG carrying no metadata but, when the recipe keeps it, the colour profile."""

from __future__ import annotations

import io
import threading
from typing import Any

from PIL import Image, ImageFile

DEFAULT_QUALITY = 85

# Pillow writes optimized (two-pass Huffman) JPEGs into one buffer it sizes at 1-2 bytes per pixel;
# fine detail at high quality with full chroma needs more ("broken data stream when writing"), so
# such an image is encoded again with a buffer of WORST_BYTES_PER_PIXEL. The buffer size is a
# Pillow module global: the lock keeps concurrent retries from restoring it under each other.
WORST_BYTES_PER_PIXEL = 12  # 3 full-resolution channels at up to 4 bytes per sample
_BUFFER_LOCK = threading.Lock()


def encode(image: Image.Image, quality: int = DEFAULT_QUALITY, icc_profile: bytes | None = None,
           subsampling: str | None = None) -> bytes:
    """`subsampling` ("4:4:4", "4:2:2", "4:2:0") overrides Pillow's default (4:2:0 for colour);
    greyscale has no chroma to subsample (Pillow would sample its one component 2x2)."""
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be 1..100, not {quality}")
    extra: dict[str, Any] = {"icc_profile": icc_profile} if icc_profile else {}
    if subsampling is not None and image.mode != "L":
        extra["subsampling"] = subsampling

    def save() -> bytes:
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality, optimize=True, progressive=False, **extra)
        return out.getvalue()

    try:
        return save()
    except OSError:
        with _BUFFER_LOCK:
            saved = ImageFile.MAXBLOCK
            ImageFile.MAXBLOCK = max(saved, WORST_BYTES_PER_PIXEL * image.width * image.height
                                     + len(icc_profile or b""))
            try:
                return save()
            finally:
                ImageFile.MAXBLOCK = saved
