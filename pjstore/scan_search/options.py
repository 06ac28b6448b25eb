"""Options of the tuned scan search, validated in one place."""

from __future__ import annotations

import math
from dataclasses import dataclass

from pjstore.encoder.scan import MAX_AL, MAX_SCANS

OBJECTIVES = ("quality", "quality_per_byte")


@dataclass(frozen=True)
class SearchOptions:
    """c_depth, a_depth: the dissertation's coefficient and approximation depths.
    objective: pick the step with the best quality gain ("quality", the dissertation's greedy)
    or the best gain per estimated byte ("quality_per_byte").
    dc_a_depth: approximation depth of DC coefficients (None: a_depth). DC refinement costs one
    raw bit per block, often about what coding that bit in the first scan costs, so DC can go
    deeper than AC without growing the file much (dc_refine_excess bounds where it cannot).
    margin_db: after the largest scale is met, the greedy continues until the model clears its
    threshold by this much, in scans of their own, so that when the real decode falls short of
    the model the offset walks forward through cheap steps instead of into the remainder.
    walk_margin_db: the same after every other scale (instead of walking into the next scale's
    first, often large, scan). It is sized for the served contract, whose renditions need more
    than their prefix's threshold (the encoder's loss comes on top), so the recipe search walks
    on from the prefix's cut: 3 dB against 0.1 read 0.070/0.134 of the source at 10/25% instead
    of 0.085/0.156 on the tune half of the photos (0.063/0.123 instead of 0.077/0.144 on the other
    half) for 0.1% more stored; 2, 4 and 6 dB read about the same, margin_db 1-3 dB after 50%
    cost 0.2-0.5% stored for 0.29 -> 0.25.
    max_scans: scan limit of the merged script (jpegtran's 100); a_depth is lowered until it fits.
    model_pixels: output pixels modelled per scale (an evenly spread grid above this).
    step_overhead_bytes: per-step share of scan header/table bytes in the byte-cost model.
    model_bias: modelled MSE is multiplied by this before comparing with the target, standing in
    for what the model leaves out.
    dc_refine_excess, ac_refine_excess: a coefficient's first scan is made finer than a_depth
    (dc_a_depth) allows while sending it bit by bit would cost more than this fraction above
    sending it whole (ByteCost.refinement_excess: refinement bits are raw, so smooth DC and sparse
    AC refine expensively). Bounds what partial sends add to the stored file.
    band_bits: bits per block charged to a first AC step that splits a run of unsent
    coefficients: the remainder then needs one more spectral band, and every band codes its own
    end-of-block in each block (the byte-cost model prices coefficients one by one).
    finish_cheapest: when some single step brings a scale to its threshold, take the cheapest
    such step rather than the best per byte (which can overshoot: cuts fall at segment ends).
    remainder_bits: the bits at which the remainder (what no scale's prefix needs) may first send
    each component's AC coefficients that no prefix touched (they are refined from there with the
    partly sent ones); the write path encodes each and keeps per component the smallest, the
    first being the plan's own script. Successive approximation codes sparse high frequencies
    smaller than one full-precision scan: on every 10th photo, 0.992 of the source stored at bit
    0 against 0.954 at bit 3 for every image and 0.952 choosing per image and component.
    layout_sample_pixels: above this size the layouts are compared on a central lossless crop of
    about this many pixels, not on the whole image.
    chroma_a_depth: approximation depth of the AC coefficients of every component after the
    first (None: a_depth; never above it, so lowering a_depth to fit the scan limit lowers both).
    Chroma refined from bit 3 costs more in all than it saves in prefixes: on the tune half
    (photos, every 4th) 2 against a_depth's 4 stored 1.000x the progressive scheme instead of
    1.002x, reads 0.49/0.49/0.39x instead of 0.48/0.48/0.37x; hires (tune, every 2nd) 1.010x
    instead of 1.014x, reads 0.34/0.49/0.62x instead of 0.30/0.44/0.56x.
    scan_overhead_bytes: charged to a step that merging cannot put into a scan its segment
    already has (a scan's header and its own Huffman tables). Off: 40 and 100 moved stored size
    by under 0.1% on the tune half (the remainder's layout, chosen by encoding, pays for them).
    large_pixels, large_dc_refine_excess: images of at least large_pixels bound DC refinement by
    large_dc_refine_excess instead of dc_refine_excess. Smooth DC makes raw refinement bits dear
    at upload sizes, where the 10% prefix has room to spare: on the hires tune half (every 2nd)
    0.05 stored 1.005x the progressive scheme instead of 1.010x, reads 0.37/0.49/0.63x instead
    of 0.34/0.49/0.62x (0.02: 1.002x, 0.47/0.56/0.67x). Photos (< 0.5 MP) are unaffected.
    default_below_pixels: images with fewer pixels also get the default progression transcoded
    and verified, and whichever reads less is stored; on the tune half of the photos it read
    less only on a 15.9k-pixel image (by 28%), the searched plan on every image from 32.7k
    pixels up, so larger images skip it.
    smoothing: model libjpeg-turbo's block smoothing (the decoder that verifies every prefix
    estimates incomplete low coefficients from neighbouring DC values); off, the model sees only
    the bits sent and is up to 3 dB off for DC-only and partly sent low bands.
    """

    c_depth: int = 6
    a_depth: int = 4
    dc_a_depth: int | None = 6
    objective: str = "quality_per_byte"
    margin_db: float = 0.2
    max_scans: int = MAX_SCANS
    model_pixels: int = 16384
    step_overhead_bytes: float = 12.0
    model_bias: float = 1.0
    smoothing: bool = True
    dc_refine_excess: float = 0.1
    ac_refine_excess: float = math.inf
    finish_cheapest: bool = True
    walk_margin_db: float = 3.0
    band_bits: float = 2.0
    default_below_pixels: int = 25_000
    large_pixels: int = 1_000_000
    large_dc_refine_excess: float = 0.05
    chroma_a_depth: int | None = 2
    scan_overhead_bytes: float = 0.0
    remainder_bits: tuple[int, ...] = (3, 2, 1, 0)
    layout_sample_pixels: int = 1 << 20

    def __post_init__(self) -> None:
        if not 1 <= self.c_depth <= 63:
            raise ValueError("c_depth must be 1..63")
        for depth in (self.a_depth, self.a_depth if self.dc_a_depth is None else self.dc_a_depth):
            if not 1 <= depth <= MAX_AL + 1:
                raise ValueError(f"a_depth and dc_a_depth must be 1..{MAX_AL + 1}")
        if self.margin_db < 0 or self.walk_margin_db < 0:
            raise ValueError("margin_db and walk_margin_db must be >= 0")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}")
        if not 1 <= self.max_scans <= MAX_SCANS:
            raise ValueError(f"max_scans must be 1..{MAX_SCANS}")
        if min(self.dc_refine_excess, self.ac_refine_excess, self.large_dc_refine_excess) < 0:
            raise ValueError("dc_refine_excess, ac_refine_excess, large_dc_refine_excess must be >= 0")
        if self.large_pixels < 1:
            raise ValueError("large_pixels must be >= 1")
        if not self.remainder_bits or any(not 0 <= b <= MAX_AL for b in self.remainder_bits):
            raise ValueError(f"remainder_bits: one or more bits, each 0..{MAX_AL}")
        if self.layout_sample_pixels < 1:
            raise ValueError("layout_sample_pixels must be >= 1")
        if self.default_below_pixels < 0:
            raise ValueError("default_below_pixels must be >= 0")
        if self.chroma_a_depth is not None and not 1 <= self.chroma_a_depth <= MAX_AL + 1:
            raise ValueError(f"chroma_a_depth must be 1..{MAX_AL + 1}")
        if self.scan_overhead_bytes < 0:
            raise ValueError("scan_overhead_bytes must be >= 0")
        if self.model_pixels < 1 or self.step_overhead_bytes < 0 or self.band_bits < 0 or self.model_bias <= 0:
            raise ValueError("model_pixels >= 1, step_overhead_bytes, band_bits >= 0, model_bias > 0")
