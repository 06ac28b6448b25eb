"""Step 8: encode a baseline JPEG carrying no metadata but, when the recipe keeps it, the colour profile.

Two encoders: libjpeg-turbo (Pillow's) and jpegli (Google's libjpeg-compatible encoder, through
pyjpegli: baseline, 4:2:0, adaptive quantization; any JPEG decoder reads it). Each is deterministic:
the same pixels and settings give the same bytes in every run, which ETags rely on.
"""

from __future__ import annotations

import io
import struct
import threading
from typing import Any

import pyjpegli
from PIL import Image, ImageFile

DEFAULT_QUALITY = 85
LIBJPEG_TURBO, JPEGLI = "libjpeg-turbo", "jpegli"
ENCODERS = (LIBJPEG_TURBO, JPEGLI)
JPEGLI_SUBSAMPLING = "4:2:0"  # the only chroma pyjpegli writes

# Pillow writes optimized (two-pass Huffman) JPEGs into one buffer it sizes at 1-2 bytes per pixel;
# fine detail at high quality with full chroma needs more ("broken data stream when writing"), so
# such an image is encoded again with a buffer of WORST_BYTES_PER_PIXEL. The buffer size is a
# Pillow module global: the lock keeps concurrent retries from restoring it under each other.
WORST_BYTES_PER_PIXEL = 12  # 3 full-resolution channels at up to 4 bytes per sample
_BUFFER_LOCK = threading.Lock()
_ICC_MARKER = b"ICC_PROFILE\0"
_ICC_CHUNK = 65519  # an APP2 segment's 65535 bytes less its length, marker name and chunk numbering


def encode(image: Image.Image, quality: int = DEFAULT_QUALITY, icc_profile: bytes | None = None,
           subsampling: str | None = None, encoder: str = LIBJPEG_TURBO) -> bytes:
    """`subsampling` ("4:4:4", "4:2:2", "4:2:0") overrides Pillow's default (4:2:0 for colour);
    greyscale has no chroma to subsample (Pillow would sample its one component 2x2). jpegli
    writes 4:2:0 only, and greyscale as colour (pyjpegli takes RGB)."""
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be 1..100, not {quality}")
    if encoder == JPEGLI:
        if subsampling not in (None, JPEGLI_SUBSAMPLING):
            raise ValueError(f"jpegli writes {JPEGLI_SUBSAMPLING} only, not {subsampling}")
        rgb = image.convert("RGB")
        return with_profile(pyjpegli.encode(rgb.tobytes(), rgb.width, rgb.height, quality), icc_profile)
    if encoder != LIBJPEG_TURBO:
        raise ValueError(f"encoder must be one of {ENCODERS}, not {encoder!r}")
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


def with_profile(jpeg: bytes, icc_profile: bytes | None) -> bytes:
    """`jpeg` with `icc_profile` in APP2 segments after SOI (the ICC's own embedding, as libjpeg
    writes it), for encoders that take no profile."""
    if not icc_profile:
        return jpeg
    chunks = [icc_profile[i:i + _ICC_CHUNK] for i in range(0, len(icc_profile), _ICC_CHUNK)]
    if len(chunks) > 255:
        raise ValueError(f"an ICC profile of {len(icc_profile)} bytes does not fit 255 APP2 segments")
    segments = b"".join(b"\xff\xe2" + struct.pack(">H", 2 + len(_ICC_MARKER) + 2 + len(chunk)) + _ICC_MARKER
                        + bytes((n, len(chunks))) + chunk for n, chunk in enumerate(chunks, 1))
    return jpeg[:2] + segments + jpeg[2:]
