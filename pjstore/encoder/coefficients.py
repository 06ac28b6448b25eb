"""Quantized DCT coefficients of a JPEG, read with jpeglib (libjpeg-turbo 2.1 underneath).

Only call this on streams jpegtran has already written: libjpeg merely warns on damaged data,
and the structure reader and jpegtran are what refuse bad input.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from pjstore.encoder.structure import parse

# Zigzag scan order: ZIGZAG[k] is the natural (row-major 8x8) index of the k-th coefficient.
ZIGZAG = np.array([
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
])
NATURAL = np.argsort(ZIGZAG)  # NATURAL[n]: the zigzag position of natural index n


@dataclass(frozen=True, eq=False)
class ComponentCoefficients:
    """One component: coefficients (blocks_y, blocks_x, 64) in zigzag order, quant table (64,)
    in zigzag order, and sampling factors."""

    coefficients: np.ndarray
    quant: np.ndarray
    h: int
    v: int

    @cached_property
    def dequantized_natural(self) -> np.ndarray:
        """(blocks_y, 64, blocks_x) float32: every dequantized field in natural (row-major 8x8)
        order, a block row at a time: the layout in which the resize model images all fields at
        once without copying (resize_basis.ResizedBasis.image_all). Made once per image."""
        by, bx = self.coefficients.shape[:2]
        natural = self.coefficients[:, :, NATURAL]  # a gather along contiguous rows, then one transpose
        out = np.empty((by, 64, bx), np.float32)
        np.multiply(natural.transpose(0, 2, 1), self.quant[NATURAL].astype(np.float32)[:, None], out=out)
        return out


@dataclass(frozen=True, eq=False)
class DctImage:
    width: int
    height: int
    components: tuple[ComponentCoefficients, ...]


def read(jpeg: bytes) -> DctImage:
    """Read all components' quantized coefficients from a (trusted) JPEG byte string."""
    import jpeglib

    jpeglib.version.set("turbo210")  # reads arithmetic coding and every sampling layout
    fd, path = tempfile.mkstemp(suffix=".jpg", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(jpeg)
        im = jpeglib.read_dct(path)
        planes = [im.Y, im.Cb, im.Cr, im.K if im.has_black else None][: im.num_components]
        frame = parse(jpeg).frame
        comps = []
        for i, (plane, fc) in enumerate(zip(planes, frame.components, strict=True)):
            by, bx = plane.shape[:2]
            coefs = plane.reshape(by, bx, 64)[:, :, ZIGZAG]
            quant = np.asarray(im.qt[im.quant_tbl_no[i]]).reshape(64)[ZIGZAG]
            comps.append(ComponentCoefficients(np.ascontiguousarray(coefs), quant, fc.h, fc.v))
        return DctImage(im.width, im.height, tuple(comps))
    finally:
        os.unlink(path)
