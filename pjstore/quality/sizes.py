"""Target sizes for a scale, in stored (pre-orientation) pixel axes."""

from __future__ import annotations

DEFAULT_SCALES = (0.1, 0.25, 0.5)


def target_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """``(max(1, round(w*s)), max(1, round(h*s)))``: the contract's exact size for `scale`."""
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], not {scale}")
    return max(1, round(width * scale)), max(1, round(height * scale))
