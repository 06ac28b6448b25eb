"""Quality model: the resized image's error for a partial set of coefficient bits, kept up to
date step by step, with no decoder or jpegtran run.

The error image (source minus what a prefix decodes to), per component on the sampled grid of
one scale, is R_c = sum_k image_c,k((coef - held) * q), where `held` is what the decoder holds:
the bits sent, and for the low coefficients libjpeg-turbo's block smoothing estimates
(smoothing.py). Its RGB energy is sum over pixels of R^T G R. A step changes R by a delta D (one
field of one component; several low fields when smoothing's estimates move with it; every
component when it switches smoothing on or off), so its gain (drop in squared error) is
-(2 D.(G R) + D.(G D)): every candidate is scored with dot products, and its delta is kept until
what it depends on (`_key`) changes. Cross terms between blocks, frequencies and components are
all in R, so nothing is assumed diagonal.
"""

from __future__ import annotations

import numpy as np

from pjstore.encoder.coefficients import DctImage
from pjstore.scan_search import smoothing
from pjstore.scan_search.resize_basis import ResizedBasis
from pjstore.scan_search.steps import NOT_SENT, Step, reconstruct


class QualityModel:
    """The modelled error of the current plan at one scale (see module docstring).
    `smooth`: model libjpeg-turbo's block smoothing (off: the bits sent, nothing else)."""

    def __init__(self, basis: ResizedBasis, dct: DctImage, levels: list[list[int]], smooth: bool = True):
        self.basis = basis
        self._coefs = [c.coefficients.astype(np.int32) for c in dct.components]
        self._quant = [c.quant.astype(np.float32) for c in dct.components]
        self._levels = [list(lv) for lv in levels]
        self._smooth = smooth
        self._active = smooth and smoothing.active(self._levels)
        self._lows = [smoothing.LowFields(c.coefficients, c.quant) for c in dct.components]
        n = len(self._coefs)
        self._low = [self._held_low(c, self._levels[c], self._active) for c in range(n)]
        self.residual = np.array([basis.image_all(c, self._error_fields(c)) for c in range(n)])
        self._deltas = np.zeros((n, 64, basis.pixels))  # row k: delta image of (c, k)'s next step
        self._delta_norms = np.zeros((n, 64))
        self._keys: list[list[tuple | None]] = [[None] * 64 for _ in range(n)]  # what each delta holds
        self._wide: dict[tuple[int, int], np.ndarray] = {}  # deltas touching every component
        self._gram = basis.gram
        self._weighted = self._gram @ self.residual
        self.sse = float(np.sum(self.residual * self._weighted))

    def _held_low(self, c: int, levels: list[int], active: bool) -> np.ndarray:
        return self._lows[c].held(levels, active)

    def _error_fields(self, c: int, levels: list[int] | None = None) -> np.ndarray:
        """Dequantized error (coefficient minus what the decoder holds) of every field."""
        values = self._coefs[c]
        if levels is None:
            levels, low = self._levels[c], self._low[c]
        else:
            low = self._held_low(c, levels, False)
        high = [reconstruct(values[:, :, k], lv, False) for k, lv in enumerate(levels) if k >= smoothing.SMOOTHED]
        held = np.concatenate([low, np.stack(high, axis=2)], axis=2)
        return (values - held).astype(np.float32) * self._quant[c]

    def _active_after(self, step: Step) -> bool:
        """Whether smoothing is on once `step` is taken (only DC and AC 1..9 steps can change it)."""
        if not self._smooth or step.k >= smoothing.SMOOTHED:
            return self._active
        levels = [list(lv) for lv in self._levels]
        levels[step.component][step.k] = step.al
        return smoothing.active(levels)

    def _key(self, step: Step, after: bool) -> tuple:
        """Everything the step's delta depends on besides the step itself."""
        c, k = step.component, step.k
        if k >= smoothing.SMOOTHED:
            return (self._levels[c][k],)
        if after != self._active:
            return (tuple(tuple(lv[: smoothing.SMOOTHED]) for lv in self._levels), self._active)
        return (tuple(self._levels[c][: smoothing.SMOOTHED]), self._active)

    def _delta(self, step: Step, after: bool) -> dict[int, np.ndarray]:
        """Delta image per component the step changes."""
        c, k = step.component, step.k
        if k >= smoothing.SMOOTHED:
            values = self._coefs[c][:, :, k]
            change = reconstruct(values, self._levels[c][k], False) - reconstruct(values, step.al, False)
            return {c: self.basis.image(c, k, change.astype(np.float32) * self._quant[c][k])}
        if after == self._active and k and smoothing.with_dc(self._levels[c]) == (step.al >= NOT_SENT):
            # Smoothing's formulas stay as they are: only this coefficient's held values move.
            levels = list(self._levels[c])
            levels[k] = step.al
            change = self._low[c][:, :, k] - self._lows[c].field(k, levels, after)
            return {c: self.basis.image(c, k, change.astype(np.float32) * self._quant[c][k])}
        out = {}
        for comp in (range(len(self._coefs)) if after != self._active else (c,)):
            levels = list(self._levels[comp])
            if comp == c:
                levels[k] = step.al
            change = (self._low[comp] - self._held_low(comp, levels, after)).astype(np.float32)
            image = np.zeros(self.basis.pixels)
            for j in range(smoothing.SMOOTHED):
                if change[:, :, j].any():
                    image += self.basis.image(comp, j, change[:, :, j] * self._quant[comp][j])
            out[comp] = image
        return out

    def _prepare(self, step: Step) -> None:
        """Compute the step's delta unless the one kept is still valid."""
        c, k = step.component, step.k
        after = self._active_after(step)
        key = self._key(step, after)
        if self._keys[c][k] == key:
            return
        self._keys[c][k] = key
        self._wide.pop((c, k), None)
        delta = self._delta(step, after)
        if len(delta) == 1 and c in delta:
            self._deltas[c, k] = delta[c]
            self._delta_norms[c, k] = delta[c] @ delta[c]
        else:
            wide = np.zeros_like(self.residual)
            for comp, image in delta.items():
                wide[comp] = image
            self._wide[(c, k)] = wide

    @property
    def mse(self) -> float:
        """Mean squared error over all modelled RGB samples."""
        return self.sse / (3 * self.basis.pixels)

    def gains(self, steps: list[Step]) -> np.ndarray:
        """Drop in squared error (summed over modelled samples) each step would bring alone."""
        out = np.empty(len(steps))
        for step in steps:
            self._prepare(step)
        wide = np.array([(s.component, s.k) in self._wide for s in steps], dtype=bool)
        for i in np.flatnonzero(wide):
            d = self._wide[(steps[i].component, steps[i].k)]
            out[i] = -(2 * np.sum(d * self._weighted) + np.sum(d * (self._gram @ d)))
        comps = np.array([s.component for s in steps])
        ks = np.array([s.k for s in steps])
        for c in np.unique(comps[~wide]):
            sel = (comps == c) & ~wide
            top = ks[sel].max() + 1
            dots = self._deltas[c, :top] @ self._weighted[c]
            g = -(2 * dots + self._gram[c, c] * self._delta_norms[c, :top])
            out[sel] = g[ks[sel]]
        return out

    def apply(self, step: Step) -> None:
        """Take `step`: update the residual and forget its (now stale) delta."""
        c, k = step.component, step.k
        self.sse -= float(self.gains([step])[0])
        after = self._active_after(step)
        wide = self._wide.pop((c, k), None)
        if wide is None:
            self.residual[c] += self._deltas[c, k]
            self._weighted += np.outer(self._gram[:, c], self._deltas[c, k])
        else:
            self.residual += wide
            self._weighted += self._gram @ wide
        changed = range(len(self._coefs)) if after != self._active else (c,)
        self._levels[c][k] = step.al
        self._active = after
        if k < smoothing.SMOOTHED:
            for comp in changed:
                self._low[comp] = self._held_low(comp, self._levels[comp], after)
        self._keys[c][k] = None

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
