"""Step 5: resize to the exact requested size (LANCZOS, as the quality contract does)."""

from __future__ import annotations

from PIL import Image


def scale(image: Image.Image, size: tuple[int, int], reducing_gap: float | None = None) -> Image.Image:
    return image if image.size == size else image.resize(size, Image.Resampling.LANCZOS, reducing_gap=reducing_gap)
