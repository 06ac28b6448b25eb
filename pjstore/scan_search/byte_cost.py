"""Byte-cost model: an entropy estimate of what each step adds to the file.

Per coefficient and bit level, from the quantized values alone: a first scan costs the entropy
of the magnitude categories (which also codes where the non-zeros are) plus the raw magnitude
bits; DC codes differences between neighbouring blocks; a refinement costs one raw bit per
already non-zero value plus the position entropy and sign of the values that become non-zero.
Merged scans and per-scan headers are not modelled per step; `overhead` stands in for them.
"""

from __future__ import annotations

import numpy as np

from pjstore.scan_search.steps import Step


def _categories(values: np.ndarray) -> np.ndarray:
    """JPEG magnitude category: bit length of |v| (0 for zero)."""
    return np.frexp(np.abs(values).astype(np.float64))[1].astype(np.int64)


def _entropy_bits(cats: np.ndarray) -> np.ndarray:
    """Per column of `cats` (N x K), N times the entropy of its category histogram."""
    n, k = cats.shape
    counts = np.bincount((np.arange(k) * 16 + cats).ravel(), minlength=16 * k).reshape(k, 16)
    p = counts / n
    with np.errstate(divide="ignore", invalid="ignore"):
        return -n * np.nansum(np.where(p > 0, p * np.log2(p), 0.0), axis=1)


def _binary_entropy_bits(n: np.ndarray, hits: np.ndarray) -> np.ndarray:
    p = np.where(n > 0, hits / np.maximum(n, 1), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(np.where(p > 0, p * np.log2(p), 0.0) + np.where(p < 1, (1 - p) * np.log2(1 - p), 0.0))
    return n * h


MAX_BLOCKS = 16384  # statistics come from a strided set of block rows above this


class ByteCost:
    """Estimated bytes of every step of one image (tables per component, bit level, coefficient)."""

    def __init__(self, coefficients: list[np.ndarray], levels: int, overhead: float):
        self.overhead = overhead
        self._first: list[np.ndarray] = []  # [c] (levels x 64) bits of a first scan at level al
        self._refine: list[np.ndarray] = []  # [c] (levels x 64) bits of the refinement to al
        for coefs in coefficients:
            # Whole block rows, so DC differences stay between neighbours; scaled back up below.
            stride = max(1, -(-coefs.shape[0] * coefs.shape[1] // MAX_BLOCKS))
            flat = coefs[::stride].reshape(-1, 64).astype(np.int64)
            n = flat.shape[0]
            first = np.zeros((levels, 64))
            refine = np.zeros((levels, 64))
            whole = _categories(flat)
            for al in range(levels):
                cats = np.maximum(whole - al, 0)  # the category of |v| >> al
                first[al] = _entropy_bits(cats) + cats.sum(axis=0)
                dc = np.diff(flat[:, 0] >> al, prepend=0)
                dc_cats = _categories(dc)[:, None]
                first[al, 0] = _entropy_bits(dc_cats)[0] + dc_cats.sum()
                new = (cats == 1).sum(axis=0)  # |v| >> al is 1: becomes non-zero at al
                n_before = (cats > 1).sum(axis=0)  # already non-zero at al + 1
                refine[al] = n_before + _binary_entropy_bits(n - n_before, new) + 2 * new
                refine[al, 0] = n
            scale = coefs.shape[0] * coefs.shape[1] / n
            self._first.append(first * scale)
            self._refine.append(refine * scale)

    def refinement_excess(self, component: int, k: int, level: int) -> float:
        """How much more a coefficient costs in all when first sent at bit `level` and then
        refined bit by bit than when sent whole at once (relative, 0 = no more): refinement bits
        are raw, so where the first scan codes a bit plane cheaply (smooth DC, sparse AC) the
        refinement path costs more. Per-scan headers are left out."""
        first = self._first[component][:, k]
        refine = self._refine[component][:, k]
        return float((first[level] + refine[:level].sum()) / max(first[0], 1.0) - 1.0)

    def bytes(self, step: Step) -> float:
        table = self._refine if step.ah else self._first
        return table[step.component][step.al, step.k] / 8 + self.overhead
