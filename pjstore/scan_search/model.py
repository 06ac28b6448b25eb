"""Quality model: the resized image's error for a partial set of coefficient bits, kept up to
date step by step, with no decoder or jpegtran run.

The error image (source minus what a prefix reconstructs), per component on the sampled grid of
one scale, is R_c = sum_k image_c,k((coef - reconstruct(coef, level)) * q). Its RGB energy is
sum over pixels of R^T G R. A step changes one term by a delta image d, so its gain (drop in
squared error) is -(2 d.(G R)_c + G_cc d.d): every candidate is scored with one dot product, and
its delta image is computed once and kept until that coefficient moves. Cross terms between
blocks, frequencies and components are all in R, so nothing is assumed diagonal.
"""

from __future__ import annotations

import numpy as np

from pjstore.encoder.coefficients import DctImage
from pjstore.scan_search.resize_basis import ResizedBasis
from pjstore.scan_search.steps import NOT_SENT, Step, reconstruct


class QualityModel:
    """The modelled error of the current plan at one scale (see module docstring)."""

    def __init__(self, basis: ResizedBasis, dct: DctImage, levels: list[list[int]]):
        self.basis = basis
        self._coefs = [c.coefficients.astype(np.int32) for c in dct.components]
        self._quant = [c.quant.astype(np.float32) for c in dct.components]
        self._levels = [list(lv) for lv in levels]
        n = len(self._coefs)
        self.residual = np.array([basis.image_all(c, self._error_fields(c)) for c in range(n)])
        self._deltas = np.zeros((n, 64, basis.pixels))  # row k: delta image of (c, k)'s next step
        self._delta_norms = np.zeros((n, 64))
        self._ready = np.zeros((n, 64), dtype=bool)
        self._gram = basis.gram
        self._weighted = self._gram @ self.residual
        self.sse = float(np.sum(self.residual * self._weighted))

    def _error_fields(self, c: int, levels: list[int] | None = None) -> np.ndarray:
        """Dequantized error (coefficient minus reconstruction) of every coefficient field."""
        levels = self._levels[c] if levels is None else levels
        values = self._coefs[c]
        sent = np.stack([reconstruct(values[:, :, k], lv, k == 0) for k, lv in enumerate(levels)], axis=2)
        return (values - sent).astype(np.float32) * self._quant[c]

    def _delta(self, step: Step) -> np.ndarray:
        c, k = step.component, step.k
        before = self._levels[c][k]
        values = self._coefs[c][:, :, k]
        change = reconstruct(values, before, k == 0) - reconstruct(values, step.al, k == 0)
        return self.basis.image(c, k, change.astype(np.float32) * self._quant[c][k])

    @property
    def mse(self) -> float:
        """Mean squared error over all modelled RGB samples."""
        return self.sse / (3 * self.basis.pixels)

    def gains(self, steps: list[Step]) -> np.ndarray:
        """Drop in squared error (summed over modelled samples) each step would bring alone."""
        out = np.empty(len(steps))
        for i, step in enumerate(steps):
            c, k = step.component, step.k
            if not self._ready[c, k]:
                d = self._delta(step)
                self._deltas[c, k] = d
                self._delta_norms[c, k] = d @ d
                self._ready[c, k] = True
        comps = np.array([s.component for s in steps])
        ks = np.array([s.k for s in steps])
        for c in np.unique(comps):
            sel = comps == c
            top = ks[sel].max() + 1
            dots = self._deltas[c, :top] @ self._weighted[c]
            g = -(2 * dots + self._gram[c, c] * self._delta_norms[c, :top])
            out[sel] = g[ks[sel]]
        return out

    def apply(self, step: Step) -> None:
        """Take `step`: update the residual and forget its (now stale) delta."""
        c, k = step.component, step.k
        if not self._ready[c, k]:
            self.gains([step])
        d = self._deltas[c, k]
        self.sse += float(2 * d @ self._weighted[c] + self._gram[c, c] * self._delta_norms[c, k])
        self.residual[c] += d
        self._weighted += np.outer(self._gram[:, c], d)
        self._levels[c][k] = step.al
        self._ready[c, k] = False

    def images(self) -> tuple[np.ndarray, np.ndarray]:
        """(reference, candidate) as RGB float images on the sampled grid, for metrics other than
        MSE. The reference is rebuilt from all coefficients, so it matches the decoder's up to
        rounding and clipping."""
        full = np.array([self.basis.image_all(c, self._error_fields(c, [NOT_SENT] * 64))
                         for c in range(len(self._coefs))])
        rows, cols = self.basis.shape
        to_rgb = self.basis.to_rgb
        ref = (to_rgb @ full).T.reshape(rows, cols, 3) + 128.0
        cand = (to_rgb @ (full - self.residual)).T.reshape(rows, cols, 3) + 128.0
        return np.clip(ref, 0, 255), np.clip(cand, 0, 255)
