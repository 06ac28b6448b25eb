"""Step 6: the recipe's restoration filter (pjstore.rendition.restoration), where it has one.

Applied by Pillow's 5x5 Kernel filter (C), to the image with its edge repeated around it: Pillow
leaves a kernel's border unfiltered, which at thumbnail sizes is a large share of the pixels.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from pjstore.rendition.restoration import RADIUS, Restoration, padded


def restore(image: Image.Image, restoration: Restoration) -> Image.Image:
    width, height = image.size
    kernel = ImageFilter.Kernel((2 * RADIUS + 1,) * 2, restoration.kernel(), scale=1, offset=restoration.offset)
    framed = Image.fromarray(padded(np.asarray(image)), image.mode).filter(kernel)
    return framed.crop((RADIUS, RADIUS, RADIUS + width, RADIUS + height))
