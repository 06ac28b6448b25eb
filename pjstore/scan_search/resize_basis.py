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


def lanczos_matrix(in_size: int, out_size: int) -> np.ndarray:
    """Pillow's LANCZOS resampling weights (Resample.c precompute_coeffs), out_size x in_size."""
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 3.0 * filterscale
    out = np.zeros((out_size, in_size))
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size)
        x = (np.arange(xmin, xmax) - center + 0.5) / filterscale
        w = np.sinc(x) * np.sinc(x / 3) * (np.abs(x) < 3)
        total = w.sum()
        out[xx, xmin:xmax] = w / total if total else w
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


def sample_grid(out_h: int, out_w: int, max_pixels: int) -> tuple[np.ndarray, np.ndarray]:
    """Output rows and columns to model: all of them, or an evenly strided grid."""
    stride = max(1, math.ceil(math.sqrt(out_h * out_w / max_pixels)))
    return np.arange(stride // 2, out_h, stride), np.arange(stride // 2, out_w, stride)


def _axis_basis(full: int, comp: int, blocks: int, factor: int, target: int,
                picked: np.ndarray) -> list[sp.csr_matrix]:
    """Per frequency, the (len(picked) x blocks) map from one axis of a coefficient field to the
    picked resized samples: Lanczos rows . upsampling . IDCT basis."""
    resize = lanczos_matrix(full, target)[picked]
    to_comp = (upsampling_matrix(full, comp, factor).T @ resize.T).T  # picked x comp samples
    padded = np.zeros((len(picked), blocks * 8))
    padded[:, :comp] = to_comp  # rows past the component's edge are never displayed
    per_block = padded.reshape(len(picked), blocks, 8) @ idct_basis()  # picked x blocks x u
    out = []
    for u in range(8):
        m = per_block[:, :, u]
        m[np.abs(m) < 1e-6 * np.abs(m).max(initial=1.0)] = 0.0  # keep the Lanczos band sparse
        out.append(sp.csr_matrix(m.astype(np.float32)))
    return out


@dataclass(frozen=True, eq=False)
class ResizedBasis:
    """The linear map from coefficient fields to the (sampled) resized image at one scale.

    `rows[c][u]` (n_rows x blocks_y) and `cols[c][v]` (n_cols x blocks_x) are sparse; `to_rgb`
    is the colour matrix M and `gram` = M^T M, so squared RGB error = e^T gram e."""

    scale: float
    rows: tuple[tuple[sp.csr_matrix, ...], ...]
    cols: tuple[tuple[sp.csr_matrix, ...], ...]
    to_rgb: np.ndarray
    shape: tuple[int, int]  # modelled (rows, columns)

    @property
    def gram(self) -> np.ndarray:
        return self.to_rgb.T @ self.to_rgb

    @property
    def pixels(self) -> int:
        return self.shape[0] * self.shape[1]

    @classmethod
    def build(cls, dct: DctImage, color_space: str, scale: float, max_pixels: int) -> "ResizedBasis":
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

    def image(self, component: int, k: int, field: np.ndarray) -> np.ndarray:
        """The flattened sampled image of `field` (dequantized values of zigzag coefficient k)."""
        natural = int(ZIGZAG[k])
        u, v = divmod(natural, 8)
        half = self.cols[component][v] @ field.T  # n_cols x blocks_y
        return np.asarray(self.rows[component][u] @ half.T).ravel()
