"""Generated test JPEGs: scikit-image sample images encoded with Pillow (never corpus photos)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from skimage import data

# name -> (pixels, Pillow quality, subsampling: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0)
CASES = {
    "astronaut-q85-420": (lambda: data.astronaut()[100:340, 120:440], 85, 2),
    "coffee-q95-444": (lambda: data.coffee()[60:300, 100:420], 95, 0),
    "chelsea-q70-422": (lambda: data.chelsea()[30:270, 50:370], 70, 1),
    "camera-gray-q90": (lambda: data.camera()[120:360, 100:420], 90, 0),
    "odd-size-q80-420": (lambda: data.astronaut()[3:164, 5:222], 80, 2),
}


def jpeg(name: str) -> bytes:
    pixels, quality, subsampling = CASES[name]
    image = Image.fromarray(np.ascontiguousarray(pixels()))
    buf = io.BytesIO()
    kwargs = {} if image.mode == "L" else {"subsampling": subsampling}
    image.save(buf, "JPEG", quality=quality, **kwargs)
    return buf.getvalue()
