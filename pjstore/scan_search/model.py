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

from pjstore.encoder.coefficients import ZIGZAG, DctImage
from pjstore.scan_search import smoothing
from pjstore.scan_search.resize_basis import ResizedBasis
from pjstore.scan_search.steps import NOT_SENT, Step, reconstruct


class QualityModel:
    """The modelled error of the current plan at one scale (see module docstring).
    `smooth`: model libjpeg-turbo's block smoothing (off: the bits sent, nothing else); `lows`
    may be shared by the models of one image's scales (smoothing's estimates do not depend on
    the scale)."""

    def __init__(self, basis: ResizedBasis, dct: DctImage, levels: list[list[int]], smooth: bool = True,
                 lows: list[smoothing.LowFields] | None = None):
        self.basis = basis
        self._components = dct.components
        self._coefs = [c.coefficients for c in dct.components]  # reconstructing never grows a value
        self._quant = [c.quant.astype(np.float32) for c in dct.components]
        self._levels = [list(lv) for lv in levels]
        self._smooth = smooth and smoothing.possible([c.quant for c in dct.components])
        self._active = self._smooth and smoothing.active(self._levels)
        self._incomplete = sum(lv[k] != 0 for lv in self._levels for k in range(1, smoothing.SMOOTHED))
        self._lows = lows or [smoothing.LowFields(c.coefficients, c.quant) for c in dct.components]
        n = len(self._coefs)
        self._low = [self._held_low(c, self._levels[c], self._active) for c in range(n)]
        self.residual = np.array([basis.image_all(c, self._error_fields(c)) for c in range(n)])
        self._deltas = np.zeros((n, 64, basis.pixels))  # row k: delta image of (c, k)'s next step
        self._delta_norms = np.zeros((n, 64))
        self._keys: list[list[tuple | None]] = [[None] * 64 for _ in range(n)]  # `_key` of each delta
        self._wide: dict[tuple[int, int], np.ndarray] = {}  # deltas touching every component
        self._leaving: dict[int, tuple[tuple, np.ndarray]] = {}  # see _leaving_dc_formulas
        self._gram = basis.gram
        self._weighted = self._gram @ self.residual
        self.sse = float(np.sum(self.residual * self._weighted))

    def _held_low(self, c: int, levels: list[int], active: bool) -> np.ndarray:
        return self._lows[c].held(levels, active)

    def _image_low(self, c: int, change: np.ndarray) -> np.ndarray:
        """Sampled image of a change (quantized units) to component c's low fields."""
        image = np.zeros(self.basis.pixels)
        for j in range(smoothing.SMOOTHED):
            if change[j].any():
                image += self.basis.image(c, j, change[j].astype(np.float32) * self._quant[c][j])
        return image

    def _error_fields(self, c: int, levels: list[int] | None = None) -> np.ndarray:
        """Dequantized error (coefficient minus what the decoder holds) of every field, in
        `ResizedBasis.image_all`'s layout: the whole coefficients less the fields held."""
        if levels is None:
            levels, low = self._levels[c], self._low[c]
        else:
            low = self._held_low(c, levels, False)
        whole = self._components[c].dequantized_natural
        held = {k: low[k] for k in range(smoothing.SMOOTHED) if low[k].any()}
        held.update((k, reconstruct(self._coefs[c][:, :, k], levels[k], False))
                    for k in range(smoothing.SMOOTHED, 64) if 0 < levels[k] < NOT_SENT)
        complete = [k for k in range(smoothing.SMOOTHED, 64) if levels[k] == 0]
        if not held and not complete:
            return whole  # nothing held: no copy (read only)
        out = whole.copy()
        for k in complete:
            out[:, ZIGZAG[k]] = 0.0
        for k, values in held.items():
            out[:, ZIGZAG[k]] -= values.astype(np.float32) * self._quant[c][k]
        return out

    def _active_after(self, step: Step) -> bool:
        """Whether smoothing is on once `step` is taken (`smoothing.active`, by counting)."""
        if not self._smooth or step.k >= smoothing.SMOOTHED:
            return self._active
        c, k = step.component, step.k
        dc_missing = sum(lv[0] >= NOT_SENT for lv in self._levels)
        dc_missing -= k == 0 and self._levels[c][0] >= NOT_SENT
        incomplete = self._incomplete - (k > 0 and step.al == 0)
        return dc_missing == 0 and incomplete > 0

    def _one_field(self, step: Step, after: bool) -> bool:
        """Whether the step moves only its own coefficient's held values: smoothing stays on or
        off and keeps its formulas (not DC, which every estimate is made from)."""
        if step.k >= smoothing.SMOOTHED:
            return True
        return step.k > 0 and after == self._active and not smoothing.with_dc(self._levels[step.component])

    def _key(self, step: Step, after: bool) -> tuple[tuple, tuple]:
        """(coarse, exact): what the step's delta depends on besides the step itself. A DC or
        formula-changing step also depends on which low coefficients are sent how far (the
        clamps); that changes with every low step of the component, but moves its gain little,
        so candidates are ranked on a delta kept under the coarse key and taken on the exact."""
        c, k = step.component, step.k
        key: tuple
        if self._one_field(step, after):
            key = (self._levels[c][k], self._levels[c][0], self._active)
            return key, key
        if after != self._active:
            key = (tuple(tuple(lv[: smoothing.SMOOTHED]) for lv in self._levels), self._active)
            return key, key
        low = self._levels[c][: smoothing.SMOOTHED]
        return (low[0], smoothing.with_dc(low), self._active), (tuple(low), self._active)

    def _delta(self, step: Step, after: bool) -> dict[int, np.ndarray]:
        """Delta image per component the step changes."""
        c, k = step.component, step.k
        if self._one_field(step, after):
            values = self._coefs[c][:, :, k]
            if k >= smoothing.SMOOTHED:
                change = reconstruct(values, self._levels[c][k], False) - reconstruct(values, step.al, False)
            else:
                levels = list(self._levels[c])
                levels[k] = step.al
                change = self._low[c][k] - self._lows[c].field(k, levels, after)
            return {c: self.basis.image(c, k, change.astype(np.float32) * self._quant[c][k])}
        if after == self._active and k:
            # The component's first low AC: smoothing switches to the formulas without DC for
            # every low field at once. That part is the same whichever coefficient goes first,
            # so it is imaged once; this coefficient's own field adds the difference.
            levels = list(self._levels[c])
            common = self._leaving_dc_formulas(c)
            levels[k] = step.al
            own = self._lows[c].field(k, self._levels[c], after, False)
            own = own - self._lows[c].field(k, levels, after)
            return {c: common + self.basis.image(c, k, own.astype(np.float32) * self._quant[c][k])}
        out = {}
        for comp in (range(len(self._coefs)) if after != self._active else (c,)):
            levels = list(self._levels[comp])
            if comp == c:
                levels[k] = step.al
            out[comp] = self._image_low(comp, self._low[comp] - self._held_low(comp, levels, after))
        return out

    def _leaving_dc_formulas(self, c: int) -> np.ndarray:
        """Delta image of component c switching to the formulas without DC, nothing more sent."""
        key = (self._levels[c][0], self._active)
        if self._leaving.get(c, (None,))[0] != key:
            change = self._low[c] - self._lows[c].held(self._levels[c], self._active, False)
            self._leaving[c] = (key, self._image_low(c, change))
        return self._leaving[c][1]

    def _prepare(self, step: Step, exact: bool) -> None:
        """Compute the step's delta unless the one kept is still valid (see `_key`)."""
        c, k = step.component, step.k
        after = self._active_after(step)
        key = self._key(step, after)
        kept = self._keys[c][k]
        if kept is not None and kept[exact] == key[exact]:
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
        """Mean squared error over all modelled RGB samples. `sse` is updated step by step, so
        once the error is all but gone (a 1x1 image at quality 100) rounding can leave it just
        below zero; no error is zero error."""
        return max(0.0, self.sse) / (3 * self.basis.pixels)

    def gains(self, steps: list[Step], exact: bool = False) -> np.ndarray:
        """Drop in squared error (summed over modelled samples) each step would bring alone;
        not `exact`, DC and formula-changing steps may be scored on a slightly stale delta."""
        out = np.empty(len(steps))
        for step in steps:
            self._prepare(step, exact)
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
        self.sse -= float(self.gains([step], exact=True)[0])
        after = self._active_after(step)
        wide = self._wide.pop((c, k), None)
        if wide is None:
            self.residual[c] += self._deltas[c, k]
            self._weighted += np.outer(self._gram[:, c], self._deltas[c, k])
        else:
            self.residual += wide
            self._weighted += self._gram @ wide
        changed = range(len(self._coefs)) if after != self._active else (c,)
        self._incomplete -= 0 < k < smoothing.SMOOTHED and step.al == 0
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
