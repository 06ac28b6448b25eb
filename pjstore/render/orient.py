"""Step 7: apply the EXIF orientation so what is served is upright."""

from __future__ import annotations

from PIL import Image

_OPS = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}


def orient(image: Image.Image, orientation: int) -> Image.Image:
    for op in _OPS.get(orientation, []):
        image = image.transpose(op)
    return image
