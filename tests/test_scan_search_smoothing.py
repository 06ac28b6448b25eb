"""Block smoothing as libjpeg-turbo applies it: the modelled coefficients decode exactly like
the real prefix, and the model's incremental updates stay exact with smoothing on."""

from __future__ import annotations

import io
import math
import os
import tempfile

import numpy as np
import pytest
from PIL import Image

from pjstore.encoder import coefficients, metadata, transcode
from pjstore.encoder.coefficients import ZIGZAG
from pjstore.encoder.scan import Scan, ScanScript
from pjstore.encoder.structure import parse
from pjstore.quality.contract import QualityTarget, Reference, decode_prefix
from pjstore.scan_search import smoothing
from pjstore.scan_search.model import QualityModel
from pjstore.scan_search.resize_basis import ResizedBasis
from pjstore.scan_search.steps import NOT_SENT, Step, reconstruct
from tools.jpegtran_wrapper import Jpegtran

from helpers import search_image

# Prefix states: DC only (the DC-replacing formulas), Y's low AC partly sent (AC 1..5 only
# for Y), chroma still DC only, then every low AC partly sent.
SCANS = (
    Scan((0, 1, 2), 0, 0, 0, 2),
    Scan((0,), 1, 2, 0, 2),
    Scan((0,), 3, 9, 0, 1),
    Scan((1,), 1, 9, 0, 1),
    Scan((2,), 1, 63, 0, 1),
    Scan((0,), 10, 63, 0, 0),
    Scan((1,), 10, 63, 0, 0),
    Scan((0, 1, 2), 0, 0, 2, 1),
    Scan((0, 1, 2), 0, 0, 1, 0),
    Scan((0,), 1, 2, 2, 1),
    Scan((0,), 1, 9, 1, 0),
    Scan((1,), 1, 9, 1, 0),
    Scan((2,), 1, 63, 1, 0),
)


@pytest.fixture(scope="module")
def jt() -> Jpegtran:
    return Jpegtran.find()


def levels_after(n: int) -> list[list[int]]:
    levels = [[NOT_SENT] * 64 for _ in range(3)]
    for scan in SCANS[:n]:
        for c in scan.components:
            for k in range(scan.ss, scan.se + 1):
                levels[c][k] = scan.al
    return levels


def held_decode(sequential: bytes, dct, levels: list[list[int]]) -> np.ndarray:
    """Decode of a baseline file holding exactly the coefficients the model says a prefix holds."""
    import jpeglib

    fd, path = tempfile.mkstemp(suffix=".jpg")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(sequential)
        im = jpeglib.read_dct(path)
        planes = [im.Y, im.Cb, im.Cr]
        active = smoothing.active(levels)
        for c, comp in enumerate(dct.components):
            values = comp.coefficients.astype(np.int64)
            held = np.stack([reconstruct(values[:, :, k], lv, k == 0) for k, lv in enumerate(levels[c])], axis=2)
            low = smoothing.LowFields(values, comp.quant).held(levels[c], active)  # field by field
            held[:, :, : smoothing.SMOOTHED] = np.moveaxis(low, 0, 2)
            natural = np.empty_like(held)
            natural[:, :, ZIGZAG] = held
            by, bx = held.shape[:2]
            planes[c][...] = natural.reshape(by, bx, 8, 8)
        im.Y, im.Cb, im.Cr = planes
        im.write_dct(path)
        with open(path, "rb") as fh:
            return np.asarray(Image.open(io.BytesIO(fh.read())).convert("RGB"))
    finally:
        os.unlink(path)


@pytest.mark.parametrize("name", ["coffee-q95-444", "astronaut-q85-420"])
def test_modelled_coefficients_decode_like_the_prefix(jt: Jpegtran, name: str) -> None:
    src = search_image(name)
    s = parse(src)
    sequential = transcode.to_sequential(src, jt)
    dct = coefficients.read(sequential)
    script = ScanScript(SCANS, 3, s.frame.sampling)
    stored = transcode.to_progressive(src, script, metadata.extract(src, s), jt)
    for n in range(1, len(SCANS)):
        real = np.asarray(decode_prefix(stored.data, stored.scan_ends[n - 1]))
        np.testing.assert_array_equal(held_decode(sequential, dct, levels_after(n)), real, err_msg=f"{n} scans")


def test_smoothing_is_off_until_every_dc_is_sent() -> None:
    levels = [[NOT_SENT] * 64 for _ in range(3)]
    levels[0][0] = levels[1][0] = 0
    assert not smoothing.active(levels)
    levels[2][0] = 3
    assert smoothing.active(levels)
    assert not smoothing.active([[0] * 64 for _ in range(3)])  # complete: nothing to estimate


def test_model_matches_the_dc_only_decode(jt: Jpegtran) -> None:
    """The case the unsmoothed model missed by 2-3 dB: a DC-only prefix."""
    src = search_image("coffee-q95-444")
    s = parse(src)
    dct = coefficients.read(transcode.to_sequential(src, jt))
    stored = transcode.to_progressive(src, ScanScript(SCANS, 3, s.frame.sampling), metadata.extract(src, s), jt)
    target = QualityTarget.uniform()
    real = Reference.from_source(src, target).score(decode_prefix(stored.data, stored.scan_ends[0]), 0.1)
    basis = ResizedBasis.build(dct, s.color_space, 0.1, 10**9)
    psnr = {smooth: 10 * math.log10(255**2 / QualityModel(basis, dct, levels_after(1), smooth).mse)
            for smooth in (True, False)}
    assert abs(psnr[True] - real) < 0.3
    assert abs(psnr[True] - real) < abs(psnr[False] - real)


@pytest.mark.parametrize("name", ["coffee-q95-444", "astronaut-q85-420"])
def test_incremental_updates_stay_exact_with_smoothing(jt: Jpegtran, name: str) -> None:
    src = search_image(name)
    s = parse(src)
    dct = coefficients.read(transcode.to_sequential(src, jt))
    basis = ResizedBasis.build(dct, s.color_space, 0.25, 4000)
    levels = [[NOT_SENT] * 64 for _ in dct.components]
    model = QualityModel(basis, dct, levels)
    steps = [Step(0, 0, 0, 3), Step(1, 0, 0, 2), Step(2, 0, 0, 2),  # the last one turns smoothing on
             Step(0, 1, 0, 1), Step(0, 0, 3, 2), Step(0, 3, 0, 0), Step(1, 5, 0, 0), Step(0, 12, 0, 1),
             Step(0, 1, 1, 0), Step(2, 9, 0, 0), Step(0, 0, 2, 1), Step(1, 0, 2, 1)]
    for step in steps:
        model.gains([Step(0, 2, 0, 0), Step(1, 1, 0, 1), step])  # keep stale deltas around
        predicted = model.sse - model.gains([step], exact=True)[0]
        model.apply(step)
        levels[step.component][step.k] = step.al
        assert model.sse == pytest.approx(predicted, rel=1e-9)
        assert model.sse == pytest.approx(QualityModel(basis, dct, levels).sse, rel=1e-6)


def test_no_smoothing_where_libjpeg_refuses_it():
    """jdcoefct.c's smoothing_ok(): a zero DC or AC 1..9 quantizer in any component disables it."""
    from pjstore.scan_search.smoothing import possible

    good = np.ones(64, dtype=np.uint16)
    zero_ac5 = good.copy()
    zero_ac5[5] = 0
    zero_ac20 = good.copy()
    zero_ac20[20] = 0  # beyond the coefficients smoothing estimates: irrelevant
    assert possible([good, good, good])
    assert not possible([good, zero_ac5, good])
    assert possible([good, zero_ac20])
