"""The linear part of "decode, then resize": where one DCT coefficient lands in a resized image.

Everything a decoder and the contract's resize do between dequantized coefficients and the
resized RGB samples is (nearly) linear and separable: IDCT -> chroma upsampling (libjpeg-turbo's
"fancy" triangle filter) -> YCbCr->RGB -> Pillow's LANCZOS resize. So the contribution of the
field F (blocks_y x blocks_x) of one component's frequency (u, v) to the resized image is
``Py[u] @ F @ Px[v].T``, with Py[u] = Ry . Uy . IDCT_u (rows) and Px[v] likewise (columns).
Rounding, clipping and libjpeg-turbo's block smoothing are what this leaves out.

Only a sample of output rows and columns is modelled when the target is large (`max_pixels`):
a strided grid keeps the estimate of the mean squared error unbiased while the cost per step
stops growing with the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from pjstore.encoder.coefficients import ZIGZAG, DctImage

_TO_RGB = {
    "GRAY": np.ones((3, 1)),  # Pillow's L->RGB copies the sample into all three channels
    "YCbCr": np.array([[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]]),
    "RGB": np.eye(3),
}


def colour_matrix(color_space: str, num_components: int) -> np.ndarray:
    """M (3 x components): RGB error = M e for an error e in the decoder's component space.
    CMYK/YCCK conversion is not linear; K is approximated as adding to every channel."""
    if color_space in _TO_RGB:
        return _TO_RGB[color_space]
    return np.hstack([np.eye(3), np.ones((3, 1))])[:, :num_components]


def idct_basis() -> np.ndarray:
    """B[n, u]: sample n (0..7) of the 1-D IDCT basis of frequency u, so that a block's pixels
    are B @ F @ B.T for its 8x8 dequantized coefficients F (JPEG's 1/4 C(u) C(v) scaling)."""
    n = np.arange(8)[:, None]
    u = np.arange(8)[None, :]
    c = np.where(u == 0, math.sqrt(0.5), 1.0)
    return c / 2 * np.cos((2 * n + 1) * u * math.pi / 16)


def lanczos_matrix(in_size: int, out_size: int, rows: np.ndarray | None = None) -> np.ndarray:
    """Pillow's LANCZOS resampling weights (Resample.c precompute_coeffs): out_size x in_size,
    or only the output `rows` given."""
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 3.0 * filterscale
    xx = np.arange(out_size) if rows is None else np.asarray(rows)
    center = (xx + 0.5) * scale
    xmin = np.maximum((center - support + 0.5).astype(int), 0)
    xmax = np.minimum((center + support + 0.5).astype(int), in_size)
    x = xmin[:, None] + np.arange(int(2 * support) + 3)[None, :]
    inside = x < xmax[:, None]
    t = (x - center[:, None] + 0.5) / filterscale
    w = np.where(inside & (np.abs(t) < 3), np.sinc(t) * np.sinc(t / 3), 0.0)
    total = w.sum(axis=1, keepdims=True)
    w = np.divide(w, total, out=w, where=total != 0)
    out = np.zeros((len(xx), in_size))
    r = np.broadcast_to(np.arange(len(xx))[:, None], x.shape)
    out[r[inside], x[inside]] = w[inside]
    return out


def upsampling_matrix(out_size: int, in_size: int, factor: int) -> sp.csr_matrix:
    """libjpeg-turbo's upsampling along one axis, out_size x in_size: the triangle ("fancy")
    filter 3/4, 1/4 with edge replication for factor 2, replication otherwise."""
    rows = np.arange(out_size)
    near = np.minimum(rows // factor, in_size - 1)
    if factor != 2:
        return sp.csr_matrix((np.ones(out_size), (rows, near)), shape=(out_size, in_size))
    far = np.clip(near + np.where(rows % 2 == 0, -1, 1), 0, in_size - 1)
    data = np.concatenate([np.full(out_size, 0.75), np.full(out_size, 0.25)])
    return sp.csr_matrix((data, (np.concatenate([rows, rows]), np.concatenate([near, far]))),
                         shape=(out_size, in_size))


_DENSE_LIMIT = 40_000  # entries of one per-frequency matrix kept dense


def sample_grid(out_h: int, out_w: int, max_pixels: int) -> tuple[np.ndarray, np.ndarray]:
    """Output rows and columns to model: all of them, or an evenly spread grid.

    The spacing is fractional, so the picked samples cycle through every position relative to
    the 8x8 block grid: a whole-number stride can keep landing on the same phase (at 50%, every
    other sample is always the same pixel of each block's 4x4), which biased the estimate of the
    mean squared error by up to +1 dB."""
    spacing = max(1.0, math.sqrt(out_h * out_w / max_pixels))

    def spread(n: int) -> np.ndarray:
        count = max(1, math.floor(n / spacing))
        return np.unique(((np.arange(count) + 0.5) * n / count).astype(int))

    return spread(out_h), spread(out_w)


def _axis_basis(full: int, comp: int, blocks: int, factor: int, target: int,
                picked: np.ndarray) -> list:
    """Per frequency, the (len(picked) x blocks) map from one axis of a coefficient field to the
    picked resized samples: Lanczos rows . upsampling . IDCT basis. Sparse when large (the
    Lanczos band covers few blocks), dense when small (less call overhead)."""
    resize = lanczos_matrix(full, target, picked)
    to_comp = (upsampling_matrix(full, comp, factor).T @ resize.T).T  # picked x comp samples
    padded = np.zeros((len(picked), blocks * 8))
    padded[:, :comp] = to_comp  # rows past the component's edge are never displayed
    per_block = padded.reshape(len(picked), blocks, 8) @ idct_basis()  # picked x blocks x u
    per_block = np.ascontiguousarray(per_block.transpose(2, 0, 1))
    if per_block[0].size <= _DENSE_LIMIT:
        return list(per_block)
    per_block[np.abs(per_block) < 1e-7 * np.abs(per_block).max(initial=1.0)] = 0.0
    return [sp.csr_matrix(m) for m in per_block]


@dataclass(frozen=True, eq=False)
class ResizedBasis:
    """The linear map from coefficient fields to the (sampled) resized image at one scale.

    `rows[c][u]` (n_rows x blocks_y) and `cols[c][v]` (n_cols x blocks_x) are sparse; `to_rgb`
    is the colour matrix M and `gram` = M^T M, so squared RGB error = e^T gram e."""

    scale: float
    rows: tuple[tuple, ...]  # ndarray or csr_matrix
    cols: tuple[tuple, ...]
    to_rgb: np.ndarray
    shape: tuple[int, int]  # modelled (rows, columns)

    @property
    def gram(self) -> np.ndarray:
        return self.to_rgb.T @ self.to_rgb

    @property
    def pixels(self) -> int:
        return self.shape[0] * self.shape[1]

    @classmethod
    def build(cls, dct: DctImage, color_space: str, scale: float, max_pixels: int) -> ResizedBasis:
        w, h = dct.width, dct.height
        out_w, out_h = max(1, round(w * scale)), max(1, round(h * scale))
        pick_r, pick_c = sample_grid(out_h, out_w, max_pixels)
        hmax = max(c.h for c in dct.components)
        vmax = max(c.v for c in dct.components)
        rows, cols = [], []
        for comp in dct.components:
            by, bx = comp.coefficients.shape[:2]
            comp_h = math.ceil(h * comp.v / vmax)
            comp_w = math.ceil(w * comp.h / hmax)
            rows.append(tuple(_axis_basis(h, comp_h, by, vmax // comp.v, out_h, pick_r)))
            cols.append(tuple(_axis_basis(w, comp_w, bx, hmax // comp.h, out_w, pick_c)))
        to_rgb = colour_matrix(color_space, len(dct.components))
        return cls(scale, tuple(rows), tuple(cols), to_rgb, (len(pick_r), len(pick_c)))

    def image_all(self, component: int, fields: np.ndarray) -> np.ndarray:
        """The flattened sampled image of all 64 fields at once, given as (blocks_y, 64,
        blocks_x) in natural order (ComponentCoefficients.dequantized_natural's layout): per
        vertical frequency u, the 8 fields side by side against the 8 column maps side by side."""
        by, _, bx = fields.shape
        cols = self._cols_side_by_side[component]
        out = np.zeros(self.shape)
        for u in range(8):
            beside = fields[:, 8 * u : 8 * u + 8].reshape(by, 8 * bx)
            out += np.asarray(cols @ np.asarray(self.rows[component][u] @ beside).T).T
        return out.ravel()

    @cached_property
    def _cols_side_by_side(self) -> list:
        return [sp.hstack(c, format="csr") if sp.issparse(c[0]) else np.hstack(c) for c in self.cols]

    def image(self, component: int, k: int, field: np.ndarray) -> np.ndarray:
        """The flattened sampled image of `field` (dequantized values of zigzag coefficient k)."""
        natural = int(ZIGZAG[k])
        u, v = divmod(natural, 8)
        half = self.cols[component][v] @ field.T  # n_cols x blocks_y
        return np.asarray(self.rows[component][u] @ half.T).ravel()
