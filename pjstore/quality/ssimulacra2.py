"""SSIMULACRA 2 (2.1), Cloudinary's perceptual image metric, over uint8 sRGB arrays (pure functions).

Follows the reference (github.com/cloudinary/ssimulacra2, src/ssimulacra2.cc at 81feacf, with the
libjxl code it builds on) step by step: sRGB -> linear sRGB -> XYB rescaled to about 0..1; at each of
up to 6 scales (1:1 to 1:32, halved in linear RGB) an SSIM map without the luma denominator and two
edge maps ("ringing": the distorted image has an edge where the reference is smooth, "blurring": the
reverse), each pooled by its 1-norm and 4-norm per XYB channel; 108 tuned weights, then a
polynomial onto a 0..100 scale (100: identical; 90 visually lossless, 70 high, 50 medium, 30 low).
"""

from __future__ import annotations

import numpy as np

from pjstore.quality.recursive_gaussian import RecursiveGaussian, emulated, fir

MIN_SIDE = 8
"""The reference refuses images narrower or shorter than this ("Minimum image size is 8x8 pixels")."""

_SCALES = 6
_C2 = np.float32(0.0009)


def _srgb_to_linear_table() -> np.ndarray:
    """Linear sRGB of each 8-bit code (the sRGB transfer function, IEC 61966-2-1)."""
    v = np.arange(256, dtype=np.float64) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


_TO_LINEAR = _srgb_to_linear_table()

# libjxl's opsin absorbance matrix and bias (lib/jxl/opsin_params.h), as the reference's float32.
_M02, _M00, _M12, _M10 = 0.078, 0.30, 0.078, 0.23
_M20, _M21 = 0.24342268924547819, 0.20476744424496821
_OPSIN = np.array([[_M00, 1.0 - _M02 - _M00, _M02],
                   [_M10, 1.0 - _M12 - _M10, _M12],
                   [_M20, _M21, 1.0 - _M20 - _M21]], dtype=np.float32)
_BIAS = np.float32(0.0037930732552754493)
_BIAS_CBRT = np.cbrt(_BIAS)


_GAUSSIAN = RecursiveGaussian.create(1.5)

MATERIAL_WEIGHT = 0.1
"""A channel's blur at a scale is computed with the reference's float32 rounding emulated where its
SSIM map's weights reach this (they are 1.1 or more, or 0.002 or less), exactly elsewhere (see
pjstore.quality.recursive_gaussian): that rounding moves the SSIM map of a good encode by up to 3
points on a 12 MP photo, and nothing else."""


# The reference's 108 weights, in its order: channel (X, Y, B), scale, norm (1, 4), map (ssim,
# ringing, blurring). An image with fewer scales takes the first 18 per scale, as the reference's
# running index does (so its Y and B terms take weights tuned for other scales).
_WEIGHTS = np.array([
    0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0, 0.0, 0.0004371155730107379, 0.0,
    1.1041726426657346, 0.00066284834129271, 0.00015231632783718752, 0.0, 0.0016406437456599754, 0.0,
    1.8422455520539298, 11.441172603757666, 0.0, 0.0007989109436015163, 0.000176816438078653, 0.0,
    1.8787594979546387, 10.94906990605142, 0.0, 0.0007289346991508072, 0.9677937080626833, 0.0,
    0.00014003424285435884, 0.9981766977854967, 0.00031949755934435053, 0.0004550992113792063, 0.0, 0.0,
    0.0013648766163243398, 0.0, 0.0, 0.0, 0.0, 0.0, 7.466890328078848, 0.0, 17.445833984131262,
    0.0006235601634041466, 0.0, 0.0, 6.683678146179332, 0.00037724407979611296, 1.027889937768264,
    225.20515300849274, 0.0, 0.0, 19.213238186143016, 0.0011401524586618361, 0.001237755635509985,
    176.39317598450694, 0.0, 0.0, 24.43300999870476, 0.28520802612117757, 0.0004485436923833408, 0.0, 0.0,
    0.0, 34.77906344483772, 44.835625328877896, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0008680556573291698, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0005313191874358747, 0.0, 0.00016533814161379112,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0004179171803251336, 0.0017290828234722833, 0.0, 0.0020827005846636437,
    0.0, 0.0, 8.826982764996862, 23.19243343998926, 0.0, 95.1080498811086, 0.9863978034400682,
    0.9834382792465353, 0.0012286405048278493, 171.2667255897307, 0.9807858872435379, 0.0, 0.0, 0.0,
    0.0005130064588990679, 0.0, 0.00010854057858411537,
])


def linear_planes(image: np.ndarray) -> np.ndarray:
    """3xHxW float32 linear sRGB of a uint8 HxWx3 sRGB image, or of a grey HxW (or HxWx1) one, whose
    three planes are equal (the reference converts grey to linear grey, and XYB of grey is that)."""
    if image.dtype != np.uint8:
        raise ValueError(f"SSIMULACRA 2 takes uint8 sRGB images, not {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        plane = _TO_LINEAR[image]
        return np.stack((plane, plane, plane))
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"SSIMULACRA 2 takes HxWx3 (RGB) or HxW (grey) images, not shape {image.shape}")
    return _TO_LINEAR[np.moveaxis(image, 2, 0)]


def positive_xyb(linear: np.ndarray) -> np.ndarray:
    """libjxl's XYB of 3xHxW linear sRGB, shifted and scaled as the reference's MakePositiveXYB
    (X*14 + 0.42, Y + 0.01, B - Y + 0.55): every channel in about 0..1."""
    mixed = np.einsum("ij,jhw->ihw", _OPSIN, linear, dtype=np.float32)
    mixed += _BIAS  # >= the bias: sRGB input is never negative (the reference clamps for wide gamut)
    # cube root as exp(log(x) / 3): 3.5x faster than np.cbrt in float32, within 2e-7 of it
    np.log(mixed, out=mixed)
    mixed *= np.float32(1.0 / 3.0)
    np.exp(mixed, out=mixed)
    mixed -= _BIAS_CBRT
    out = np.empty_like(mixed)
    np.subtract(mixed[0], mixed[1], out=out[0])
    np.add(mixed[0], mixed[1], out=out[1])
    out[:2] *= np.float32(0.5)
    np.subtract(mixed[2], out[1], out=out[2])
    out[0] *= np.float32(14.0)
    out[0] += np.float32(0.42)
    out[1] += np.float32(0.01)
    out[2] += np.float32(0.55)
    return out


def downsample(linear: np.ndarray) -> np.ndarray:
    """2x2 box average of 3xHxW planes, the last row and column repeated when H or W is odd."""
    _, h, w = linear.shape
    if h % 2 or w % 2:
        linear = np.pad(linear, ((0, 0), (0, h % 2), (0, w % 2)), mode="edge")
    total = linear[:, 0::2, 0::2] + linear[:, 1::2, 0::2]
    total += linear[:, 0::2, 1::2]
    total += linear[:, 1::2, 1::2]
    total *= np.float32(0.25)
    return total


def _norms(error: np.ndarray) -> np.ndarray:
    """1-norm (mean) and 4-norm over the last two axes of a non-negative error map, per channel."""
    n = error.shape[-1] * error.shape[-2]
    square = np.square(error, dtype=np.float32)
    mean = error.sum(axis=(-2, -1), dtype=np.float64) / n
    return np.stack([mean, (np.square(square).sum(axis=(-2, -1), dtype=np.float64) / n) ** 0.25])


def _blurred_moments(x1: np.ndarray, x2: np.ndarray, emulate: bool, second: bool = True) -> np.ndarray:
    """The reference's blur of x1, x2 and, if `second`, x1*x1, x2*x2 and x1*x2 (CxHxW each): mu1,
    mu2 and the second moments the variances and covariance are taken from."""
    stack = np.empty((5 if second else 2, *x1.shape), dtype=np.float32)
    stack[0], stack[1] = x1, x2
    if second:
        np.multiply(x1, x1, out=stack[2])
        np.multiply(x2, x2, out=stack[3])
        np.multiply(x1, x2, out=stack[4])
    if emulate:
        emulated(stack, _GAUSSIAN)
    else:
        fir(stack, _GAUSSIAN, np.empty_like(stack))
    return stack


EMULATED, EXACT, MEANS = 0, 1, 2
"""How a channel is blurred at a scale: all five moments with the reference's rounding emulated,
all five exactly, or only the means (exactly), where the SSIM map's weights are all 0."""


def blur_plan(scales: int) -> np.ndarray:
    """scales x 3 (channel) of EMULATED, EXACT or MEANS, by the SSIM map's weights under those an image
    of `scales` scales takes (the first 18 per scale, in channel, scale, norm, map order)."""
    ssim_weights = _WEIGHTS[:18 * scales].reshape(3, scales, 2, 3)[:, :, :, 0].max(axis=2).T
    return np.where(ssim_weights >= MATERIAL_WEIGHT, EMULATED, np.where(ssim_weights > 0, EXACT, MEANS))


def scale_norms(x1: np.ndarray, x2: np.ndarray, plan: np.ndarray) -> np.ndarray:
    """The pooled errors of 3xHxW XYB planes at one scale, per channel in the weights' order:
    (1-norm, 4-norm) x (ssim, ringing, blurring), blurred as `plan` (3: one of blur_plan's rows)
    says; the SSIM norms of MEANS channels are 0 (their weights are)."""
    out = np.zeros((3, 2, 3))
    together = np.flatnonzero(plan == EMULATED)
    if together.size:  # the emulation's steps are fewer and longer for several channels at once
        moments = _blurred_moments(x1[together], x2[together], True)
        out[together, :, 0] = _ssim_norms(*moments)
        out[together, :, 1:] = _edge_norms(x1[together], x2[together], *moments[:2])
    for c in np.flatnonzero(plan != EMULATED):  # one at a time, which bounds the memory of large planes
        moments = _blurred_moments(x1[c:c + 1], x2[c:c + 1], False, second=plan[c] == EXACT)
        if plan[c] == EXACT:
            out[c, :, 0] = _ssim_norms(*moments)[0]
        out[c, :, 1:] = _edge_norms(x1[c:c + 1], x2[c:c + 1], *moments[:2])[0]
    return out


def scale_count(height: int, width: int) -> int:
    """How many scales the reference measures: it halves again whenever the last scale is 8x8 or more."""
    count = 1
    while count < _SCALES and min(height, width) >= MIN_SIDE:
        height, width, count = (height + 1) // 2, (width + 1) // 2, count + 1
    return count


def _ssim_norms(mu1: np.ndarray, mu2: np.ndarray, s11: np.ndarray, s22: np.ndarray, s12: np.ndarray) -> np.ndarray:
    """C x (1-norm, 4-norm) of 1 - SSIM without its luma denominator (s11, s22, s12 are consumed)."""
    mu12 = mu1 * mu2
    num_m = np.subtract(mu1, mu2)
    np.square(num_m, out=num_m)
    np.subtract(1.0, num_m, out=num_m)
    num_s = np.subtract(s12, mu12, out=s12)
    num_s *= np.float32(2.0)
    num_s += _C2
    denom = np.subtract(s11, np.square(mu1, out=mu12), out=s11)
    denom += np.subtract(s22, np.square(mu2, out=mu12), out=s22)  # in the reference's order: equal
    denom += _C2  # images score exactly 100
    num_m *= num_s
    num_m /= denom
    ssim_error = np.subtract(1.0, num_m, out=num_m)
    np.maximum(ssim_error, 0.0, out=ssim_error)
    return _norms(ssim_error).T


def _edge_norms(x1: np.ndarray, x2: np.ndarray, mu1: np.ndarray, mu2: np.ndarray) -> np.ndarray:
    """C x (1-norm, 4-norm) x (ringing, blurring) of the edge ratio - 1: > 0 where the distorted image
    has detail the reference lacks, < 0 the reverse (mu1, mu2 are consumed)."""
    edge2 = np.subtract(x2, mu2, out=mu2)
    np.abs(edge2, out=edge2)
    edge2 += np.float32(1.0)
    edge1 = np.subtract(x1, mu1, out=mu1)
    np.abs(edge1, out=edge1)
    edge1 += np.float32(1.0)
    ratio = np.divide(edge2, edge1, out=edge2)
    ratio -= np.float32(1.0)
    ringing = _norms(np.maximum(ratio, 0.0, out=edge1))
    np.negative(ratio, out=ratio)
    blurring = _norms(np.maximum(ratio, 0.0, out=ratio))
    return np.stack([ringing, blurring], axis=-1).transpose(1, 0, 2)


def score(reference: np.ndarray, distorted: np.ndarray) -> float:
    """SSIMULACRA 2 of `distorted` against `reference`: uint8 sRGB arrays of one size (HxWx3, or
    HxW grey), at least 8x8. 100 when identical, lower is worse (negative for extreme distortion)."""
    if reference.shape[:2] != distorted.shape[:2]:
        raise ValueError(f"shape mismatch: {reference.shape} vs {distorted.shape}")
    if min(reference.shape[:2]) < MIN_SIDE:
        raise ValueError(f"SSIMULACRA 2 needs at least {MIN_SIDE}x{MIN_SIDE} pixels, not {reference.shape[:2]}")
    lin1, lin2 = linear_planes(reference), linear_planes(distorted)
    plan = blur_plan(scale_count(*reference.shape[:2]))
    scales = []
    for scale, channels in enumerate(plan):
        x1, x2 = positive_xyb(lin1), positive_xyb(lin2)
        if scale + 1 < len(plan):  # the next scale's linear planes, before this one's blurs
            lin1, lin2 = downsample(lin1), downsample(lin2)
        scales.append(scale_norms(x1, x2, channels))
    norms = np.moveaxis(np.array(scales), 0, 1).ravel()  # channel, scale, norm, map
    return from_weighted_sum(float(np.dot(_WEIGHTS[:norms.size], norms)))


def from_weighted_sum(total: float) -> float:
    """The reference's mapping of the weighted error sum onto the 0..100 score."""
    s = total * 0.9562382616834844
    s = 2.326765642916932 * s - 0.020884521182843837 * s * s + 6.248496625763138e-05 * s * s * s
    return 100.0 - 10.0 * s ** 0.6276336467831387 if s > 0 else 100.0
