"""libjpeg-turbo's block smoothing (jdcoefct.c, decompress_smooth_data), as the decoder that
verifies every prefix applies it: what a prefix's low coefficients decode to, not just the bits
sent.

When every component's DC is at least partly known and some of the first nine AC coefficients
(zigzag 1..9) of some component are not fully known, libjpeg-turbo estimates each incomplete
low coefficient that is still zero from the 5x5 neighbourhood of DC values (clamped below the
coefficient's unsent bit, 2^Al). For a component that has none of its AC 1..9 yet, it
estimates all nine and also replaces DC by a smoothed average of its neighbourhood; otherwise
it estimates AC 1..5 only (the T.81 K.8 formulas on a 5x5 window). Borders replicate the edge
blocks. DC-only prefixes decode better than the bits alone (smooth gradients instead of
blocks); partly sent textured components can decode worse (estimates of the wrong sign).
"""

from __future__ import annotations

import numpy as np

from pjstore.scan_search.steps import NOT_SENT, reconstruct

SMOOTHED = 10  # zigzag 0..9: the coefficients smoothing can change

# 5x5 DC kernels (row = block row offset -2..2, column = block column offset -2..2), numerators
# over 256 of the estimate in units of the DC quantizer, per zigzag coefficient.
_WITH_DC = {  # the component has no AC 1..9 yet ("change_dc")
    0: [[-2, -6, -8, -6, -2], [-6, 6, 42, 6, -6], [-8, 42, 152, 42, -8], [-6, 6, 42, 6, -6],
        [-2, -6, -8, -6, -2]],
    1: [[-1, -1, 0, 1, 1], [-3, 13, 0, -13, 3], [-3, 38, 0, -38, 3], [-3, 13, 0, -13, 3],
        [-1, -1, 0, 1, 1]],
    2: [[-1, -3, -3, -3, -1], [-1, 13, 38, 13, -1], [0, 0, 0, 0, 0], [1, -13, -38, -13, 1],
        [1, 3, 3, 3, 1]],
    3: [[0, 0, 1, 0, 0], [0, 2, 7, 2, 0], [0, -5, -14, -5, 0], [0, 2, 7, 2, 0], [0, 0, 1, 0, 0]],
    4: [[-1, 0, 0, 0, 1], [0, 9, 0, -9, 0], [0, 0, 0, 0, 0], [0, -9, 0, 9, 0], [1, 0, 0, 0, -1]],
    5: [[0, 0, 0, 0, 0], [0, 2, -5, 2, 0], [1, 7, -14, 7, 1], [0, 2, -5, 2, 0], [0, 0, 0, 0, 0]],
    6: [[0, 0, 0, 0, 0], [0, 1, 0, -1, 0], [0, 2, 0, -2, 0], [0, 1, 0, -1, 0], [0, 0, 0, 0, 0]],
    7: [[0, 0, 0, 0, 0], [0, 1, -3, 1, 0], [0, 0, 0, 0, 0], [0, -1, 3, -1, 0], [0, 0, 0, 0, 0]],
    8: [[0, 0, 0, 0, 0], [0, 1, 0, -1, 0], [0, -3, 0, 3, 0], [0, 1, 0, -1, 0], [0, 0, 0, 0, 0]],
    9: [[0, 0, 0, 0, 0], [0, 1, 2, 1, 0], [0, 0, 0, 0, 0], [0, -1, -2, -1, 0], [0, 0, 0, 0, 0]],
}
_WITHOUT_DC = {  # the component has some of AC 1..9: AC 1..5 only
    1: [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [-7, 50, 0, -50, 7], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]],
    2: [[0, 0, -7, 0, 0], [0, 0, 50, 0, 0], [0, 0, 0, 0, 0], [0, 0, -50, 0, 0], [0, 0, 7, 0, 0]],
    3: [[0, 0, -1, 0, 0], [0, 0, 13, 0, 0], [0, 0, -24, 0, 0], [0, 0, 13, 0, 0], [0, 0, -1, 0, 0]],
    4: [[0, -1, 0, 1, 0], [-1, 10, 0, -10, 1], [0, 0, 0, 0, 0], [1, -10, 0, 10, -1], [0, 1, 0, -1, 0]],
    5: [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [-1, 13, -24, 13, -1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]],
}


def possible(quants: list[np.ndarray]) -> bool:
    """Whether the decoder may smooth this image at all: jdcoefct.c's smoothing_ok() refuses
    when any component's DC or AC 1..9 quantizer is zero (its estimates divide by them)."""
    return all(int(np.min(q[:SMOOTHED])) > 0 for q in quants)


def active(levels: list[list[int]]) -> bool:
    """Whether the decoder smooths at all: every component's DC partly known, and some
    component's AC 1..9 not complete."""
    return all(lv[0] < NOT_SENT for lv in levels) and any(
        lv[k] != 0 for lv in levels for k in range(1, SMOOTHED))


def _correlate(dc: np.ndarray, kernel: list[list[int]]) -> np.ndarray:
    padded = np.pad(dc, 2, mode="edge")  # jdcoefct.c replicates the border blocks
    rows, cols = dc.shape
    out = np.zeros(dc.shape, dtype=np.int64)
    for i, row in enumerate(kernel):
        for j, w in enumerate(row):
            if w:
                out += w * padded[i : i + rows, j : j + cols]
    return out


class LowFields:
    """What the decoder holds for zigzag 0..9 of one component, for any bit levels. Estimates
    depend only on the DC bits sent and on which formulas apply, so they are computed once per
    (DC level, formulas) and then only clamped and merged with the bits sent."""

    def __init__(self, values: np.ndarray, quant: np.ndarray):
        self._values = np.moveaxis(values[:, :, :SMOOTHED], 2, 0).astype(np.int64)  # field by field
        self._quant = [int(q) for q in quant[:SMOOTHED]]
        self._estimates: dict[tuple[int, bool], dict[int, np.ndarray]] = {}

    def _estimate(self, dc_level: int, with_dc: bool) -> dict[int, np.ndarray]:
        key = (dc_level, with_dc)
        if key not in self._estimates:
            dc = reconstruct(self._values[0], dc_level, True)
            out = {}
            for k, kernel in (_WITH_DC if with_dc else _WITHOUT_DC).items():
                num = self._quant[0] * _correlate(dc, kernel)
                qk = self._quant[k] << 8
                out[k] = np.sign(num) * ((np.abs(num) + (qk >> 1)) // qk)  # jdcoefct.c's rounding
            self._estimates[key] = out
        return self._estimates[key]

    def held(self, levels: list[int], smooth: bool, formulas: bool | None = None) -> np.ndarray:
        """10 x blocks_y x blocks_x (field by field) in quantized units, given each coefficient's
        bit level; `smooth` from `active`; `formulas`: the DC-replacing ones (None: as `levels`
        imply)."""
        return np.stack([self.field(k, levels, smooth, formulas) for k in range(SMOOTHED)])

    def field(self, k: int, levels: list[int], smooth: bool, formulas: bool | None = None) -> np.ndarray:
        """One coefficient (zigzag k < 10) of `held`."""
        sent = reconstruct(self._values[k], levels[k], k == 0)
        if not smooth or (k and levels[k] == 0):
            return sent  # no smoothing, or complete: the decoder trusts it
        pred = self._estimate(levels[0], with_dc(levels) if formulas is None else formulas).get(k)
        if pred is None:
            return sent
        if k == 0:
            return pred
        if levels[k] < NOT_SENT:  # partly sent: the estimate stays below the first unsent bit
            pred = np.sign(pred) * np.minimum(np.abs(pred), (1 << levels[k]) - 1)
        return np.where(sent == 0, pred, sent)


def with_dc(levels: list[int]) -> bool:
    """Whether the component gets the DC-replacing formulas: none of its AC 1..9 sent yet."""
    return all(levels[k] >= NOT_SENT for k in range(1, SMOOTHED))
