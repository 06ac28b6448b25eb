"""JPEG bytes opened with Pillow so that every coding decodes, arithmetic coding included.

Pillow feeds libjpeg 64 KiB at a time, and libjpeg's arithmetic decoder cannot suspend to wait for
more: past the first block it fails ("broken data stream"). The bytes are already in memory, so
handing them over in one block costs nothing.
"""

from __future__ import annotations

import io

from PIL import Image, ImageFile


def open_jpeg(data: bytes | memoryview) -> Image.Image:
    """`Image.open` of `data`, its decoder given all of it at once."""
    im = Image.open(io.BytesIO(data))
    im.decodermaxblock = max(len(data), ImageFile.MAXBLOCK)
    return im
