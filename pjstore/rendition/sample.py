"""A sample of a large rendition's pixels, for the first guesses of its quality search (pure numpy).

Tiles spread over the image are put side by side into one smaller image. Each tile is a whole
number of MCUs at its place, so an encoder quantizes the same blocks it would in the whole image,
and a quality's score and bytes on the mosaic track the whole image's: on three 8-22 MP photos
at full and half size the lowest quality meeting 32 dB was the whole image's or 1-2 below it,
found in a tenth to a third of the CPU. Only guesses come from it; every quality a record keeps
is still encoded, decoded and graded whole.
"""

from __future__ import annotations

import numpy as np

TILE = 128  # a multiple of every MCU (at most 16 pixels per side in baseline JPEG)
SHARE = 8  # one tile in eight goes into the mosaic
# Pixels at each tile's edges are left out of its score: a decoder's chroma upsampling there mixes
# in the neighbouring tile, which in the mosaic is another part of the image (4:2:0 guesses were
# 18-37 qualities high with them).
EDGE = 2
ABOVE = 1 << 20  # served pixels above which a search starts from the sample's answer


def tiles(height: int, width: int) -> list[tuple[int, int]]:
    """The (row, column) of each tile sampled: one in SHARE along every row, shifted by 3 each row
    so that every column is sampled over SHARE rows."""
    return [(i, j) for i in range(height // TILE) for j in range(width // TILE) if (3 * i + j) % SHARE == 0]


def mosaic(pixels: np.ndarray) -> np.ndarray | None:
    """The sampled tiles of `pixels` (H x W, or H x W x C) as one image about square in tiles;
    None when the image has too few whole tiles for a sample (a long thin strip)."""
    picked = tiles(pixels.shape[0], pixels.shape[1])
    per_row = int(len(picked) ** 0.5)
    if per_row < 2:
        return None
    picked = picked[: per_row * (len(picked) // per_row)]
    blocks = [pixels[i * TILE:(i + 1) * TILE, j * TILE:(j + 1) * TILE] for i, j in picked]
    rows = [np.concatenate(blocks[r:r + per_row], axis=1) for r in range(0, len(blocks), per_row)]
    return np.ascontiguousarray(np.concatenate(rows, axis=0))


def inner(image: np.ndarray) -> np.ndarray:
    """A mosaic (or its decode) without EDGE pixels at every tile's sides, as one image to score."""
    rows, cols = image.shape[0] // TILE, image.shape[1] // TILE
    tiled = image.reshape(rows, TILE, cols, TILE, *image.shape[2:])
    kept = tiled[:, EDGE:TILE - EDGE, :, EDGE:TILE - EDGE]
    side = TILE - 2 * EDGE
    return np.ascontiguousarray(kept.reshape(rows * side, cols * side, *image.shape[2:]))
