"""libjxl's recursive Gaussian blur (lib/jxl/gauss_blur.cc), the one SSIMULACRA 2's reference uses.

Its recursion (Charalampidis 2016: three truncated-cosine terms, zero padding) is, in exact
arithmetic, a (2N-1)-tap FIR: `fir` applies that kernel with scipy, fast. The reference runs it in
float32 with fused multiply-adds, and its undamped oscillators accumulate rounding error; where two
compared images differ by less than that noise (flat areas at the coarse scales of a good encode),
the noise decides SSIMULACRA 2's SSIM term, by up to a point or so at scores near 90. `emulated`
repeats the reference's float32 operations in their order (each fused multiply-add computed in
float64, exact for a float32 product, and rounded once to float32), vectorised across the other axis.
Both blur the last two axes of a float32 array, horizontally then vertically, as the reference does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

_LANES = 4  # the reference's horizontal pass unrolls 4 outputs (HWY_CAPPED(float, 4))
_CHUNK_PIXELS = 1 << 22  # planes emulated together up to this many pixels (small ones: fewer, longer steps)


@dataclass(frozen=True)
class RecursiveGaussian:
    """The reference's coefficients (CreateRecursiveGaussian), float32 as it stores them, per term
    k = 1, 3, 5 (first axis) and, for the unrolled horizontal pass, per lane (second axis)."""

    radius: int
    kernel: np.ndarray  # the FIR the recursion equals in exact arithmetic, taps 1-N..N-1
    n2: np.ndarray
    d1: np.ndarray
    mul_in: np.ndarray
    mul_prev: np.ndarray
    mul_prev2: np.ndarray

    @classmethod
    def create(cls, sigma: float) -> RecursiveGaussian:
        radius = round(3.2795 * sigma + 0.2546)  # (57), "N"
        omega = np.array([1.0, 3.0, 5.0]) * math.pi / (2.0 * radius)
        p = np.array([1.0, -1.0, 1.0]) / np.tan(0.5 * omega)  # (37)
        r = np.array([1.0, -1.0, 1.0]) * p * p / np.sin(omega)  # (44)
        rho = np.exp(-0.5 * sigma * sigma * omega * omega) / radius  # (50)
        d13 = p[0] * r[1] - r[0] * p[1]
        d35 = p[1] * r[2] - r[1] * p[2]
        d51 = p[2] * r[0] - r[2] * p[0]
        zeta15, zeta35 = d35 / d13, d51 / d13  # (52)
        gamma = np.array([1.0, radius * radius - sigma * sigma, zeta15 * rho[0] + zeta35 * rho[1] + rho[2]])  # (55)
        beta = np.linalg.solve(np.array([p, r, [zeta15, zeta35, 1.0]]), gamma)  # (56), (53)
        taps = np.arange(1 - radius, radius)
        kernel = (beta[:, None] * np.cos(omega[:, None] * taps)).sum(axis=0)

        n2 = -beta * np.cos(omega * (radius + 1.0))  # (33)
        d1 = -2.0 * np.cos(omega)
        d_2 = d1 * d1
        mul_prev = np.stack([-d1, d_2 - 1.0, -d_2 * d1 + 2.0 * d1, d_2 * d_2 - 3.0 * d_2 + 1.0], axis=1)
        mul_prev2 = np.stack([-np.ones(3), d1, -d_2 + 1.0, d_2 * d1 - 2.0 * d1], axis=1)
        mul_in = np.stack([n2, -d1 * n2, d_2 * n2 - n2, -d_2 * d1 * n2 + 2.0 * d1 * n2], axis=1)
        f32 = np.float32
        return cls(radius, kernel.astype(f32), n2.astype(f32), d1.astype(f32), mul_in.astype(f32),
                   mul_prev.astype(f32), mul_prev2.astype(f32))


def fir(planes: np.ndarray, rg: RecursiveGaussian, scratch: np.ndarray) -> None:
    """The exact-arithmetic blur, in place (`scratch`: an array of the same shape and type)."""
    ndimage.correlate1d(planes, rg.kernel, axis=-1, output=scratch, mode="constant")
    ndimage.correlate1d(scratch, rg.kernel, axis=-2, output=planes, mode="constant")


def emulated(planes: np.ndarray, rg: RecursiveGaussian) -> None:
    """The reference's float32 blur of the last two axes, operation for operation, in place; a few
    planes at a time (the planes are independent), which bounds the memory its copies take."""
    flat = planes.reshape(-1, *planes.shape[-2:])  # P x H x W, a view
    step = max(1, _CHUNK_PIXELS // (flat.shape[1] * flat.shape[2]))
    for start in range(0, len(flat), step):
        _emulated(flat[start:start + step], rg)


def _emulated(flat: np.ndarray, rg: RecursiveGaussian) -> None:
    # Each recursion steps along axis 0 of a P-in-the-middle copy, so every step is contiguous.
    rows = np.empty((flat.shape[2], len(flat), flat.shape[1]), dtype=np.float32)  # W x P x H
    for p, plane in enumerate(flat):  # 2-D transposes: twice as fast as one 3-D one
        rows[:, p] = plane.T
    horizontal = _horizontal(rows, rg)
    del rows
    columns = np.empty((flat.shape[1], len(flat), flat.shape[2]), dtype=np.float32)  # H x P x W
    for p in range(len(flat)):
        columns[:, p] = horizontal[:, p].T
    del horizontal
    _vertical(columns, rg, np.moveaxis(flat, 1, 0))


def _pair_sums(x: np.ndarray, radius: int) -> np.ndarray:
    """x[n-N-1] + x[n+N-1] for n = 1-N .. len-1 (zero outside x), in float32 as the reference adds."""
    length = x.shape[0]
    count = length + radius - 1
    sums = np.empty((count, *x.shape[1:]), dtype=np.float32)
    sums[:length] = x  # n + N - 1 < len: the later input
    sums[length:] = 0.0
    if count > 2 * radius:
        sums[2 * radius:] += x[:count - 2 * radius]  # n - N - 1 >= 0: the earlier one
    return sums


def _fused(a: np.ndarray, coefficient: np.ndarray, c: np.ndarray, out: np.ndarray, product: np.ndarray,
           rounded: np.ndarray) -> None:
    """out = coefficient * a + c rounded once to float32, as an FMA does. The operands are float64
    holding float32 values (so the product is exact and every numpy step has one dtype: 3x faster
    than mixing them); `product` is float64 scratch, `rounded` float32 scratch left holding out."""
    np.multiply(a, coefficient, out=product)
    product += c
    np.copyto(rounded, product, casting="same_kind")
    np.copyto(out, rounded)


def _terms(coefficients: np.ndarray, ndim: int) -> np.ndarray:
    """Per-term (and per-lane) float32 coefficients as float64, shaped to broadcast over `ndim` more axes."""
    return coefficients.astype(np.float64).reshape(coefficients.shape + (1,) * ndim)


def _vertical(x: np.ndarray, rg: RecursiveGaussian, out: np.ndarray) -> None:
    """VerticalStrip along axis 0: y_k = fma(n2, sum, -d1 * y_k[-1] - y_k[-2]), out = y_1 + y_3 + y_5."""
    n, rest = rg.radius, x.shape[1:]
    sums = _pair_sums(x, n).astype(np.float64)
    n2, d1 = _terms(rg.n2, len(rest)), _terms(rg.d1, len(rest))
    ring = np.zeros((3, 3, *rest))  # slot, term, ...
    product, inner = np.empty((3, *rest)), np.empty((3, *rest))
    rounded = np.empty((3, *rest), dtype=np.float32)
    for i in range(sums.shape[0]):
        y, y1, y2 = ring[i % 3], ring[(i - 1) % 3], ring[(i - 2) % 3]
        np.multiply(y1, d1, out=product)  # NegMulSub(d1, y[-1], y[-2]) = -(d1 * y[-1]) - y[-2]
        product += y2
        np.negative(product, out=product)
        np.copyto(rounded, product, casting="same_kind")
        np.copyto(inner, rounded)
        _fused(sums[i], n2, inner, y, product, rounded)
        if i >= n - 1:
            np.add(rounded[1], rounded[2], out=out[i - n + 1])
            out[i - n + 1] += rounded[0]


def _horizontal(x: np.ndarray, rg: RecursiveGaussian) -> np.ndarray:
    """FastGaussian1D along axis 0: one output at a time for the first and the last outputs, 4 at a
    time (the recurrence unrolled over 4 lanes, with its own coefficients) between them."""
    n, width, rest = rg.radius, x.shape[0], x.shape[1:]
    sums32 = _pair_sums(x, n)  # sums[i] belongs to output i + 1 - N
    sums = sums32.astype(np.float64)
    out = np.empty_like(x)
    prev, prev2 = np.zeros((3, *rest)), np.zeros((3, *rest))
    product = np.empty((3, _LANES, *rest))
    rounded = np.empty((3, _LANES, *rest), dtype=np.float32)
    mul_in1 = rg.mul_in[:, 0].reshape((3,) + (1,) * len(rest))
    neg_d1 = _terms(rg.mul_prev[:, 0], len(rest))

    def scalar(i: int) -> None:
        nonlocal prev, prev2
        y = np.multiply(sums32[i], mul_in1).astype(np.float64)
        y -= prev2  # MulAdd(mul_prev2 = -1, prev2, y): exact in float64, then rounded
        np.copyto(rounded[:, 0], y, casting="same_kind")
        np.copyto(y, rounded[:, 0])
        _fused(prev, neg_d1, y, y, product[:, 0], rounded[:, 0])
        prev, prev2 = y, prev
        if i >= n - 1:
            np.add(rounded[1, 0], rounded[2, 0], out=out[i - n + 1])
            out[i - n + 1] += rounded[0, 0]

    first_aligned = -(-(n + 1) // _LANES) * _LANES
    unrolled_end = first_aligned  # the reference's unrolled loop: first_aligned <= output < width - N - 2
    while unrolled_end < width - n + 1 - (_LANES - 1):
        unrolled_end += _LANES
    for i in range(min(first_aligned, width) + n - 1):
        scalar(i)
    mul_in = rg.mul_in.reshape((3, _LANES) + (1,) * len(rest))
    mul_in_lag = {lag: _terms(rg.mul_in[:, :-lag], len(rest)) for lag in range(1, _LANES)}  # lane j: [j - lag]
    mul_prev2, mul_prev = _terms(rg.mul_prev2, len(rest)), _terms(rg.mul_prev, len(rest))
    buffers = np.empty((2, 3, _LANES, *rest))  # alternate: prev and prev2 view the last
    for at in range(first_aligned, unrolled_end, _LANES):
        i = at + n - 1
        np.multiply(sums32[i], mul_in, out=rounded)  # float32 Mul(sum[0], mul_in)
        y = buffers[(at // _LANES) % 2]
        np.copyto(y, rounded)
        for lag in range(1, _LANES):  # ShiftLeftLanes<lag>(mul_in) * sum[lag]; lanes < lag add 0
            _fused(sums[i + lag], mul_in_lag[lag], y[:, lag:], y[:, lag:], product[:, lag:], rounded[:, lag:])
        _fused(prev2[:, None], mul_prev2, y, y, product, rounded)
        _fused(prev[:, None], mul_prev, y, y, product, rounded)
        prev2, prev = y[:, _LANES - 2], y[:, _LANES - 1]
        np.add(rounded[1], rounded[2], out=out[at:at + _LANES])
        out[at:at + _LANES] += rounded[0]
    for i in range(min(unrolled_end, width) + n - 1, sums.shape[0]):
        scalar(i)
    return out
