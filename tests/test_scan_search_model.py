"""The quality model against Pillow: basis matrices, full reconstruction, incremental updates."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pjstore.encoder import coefficients, transcode
from pjstore.encoder.structure import parse
from pjstore.quality.contract import decode_rgb, resized
from pjstore.scan_search.byte_cost import ByteCost
from pjstore.scan_search.model import QualityModel
from pjstore.scan_search.resize_basis import ResizedBasis, lanczos_matrix
from pjstore.scan_search.steps import NOT_SENT, Step, reconstruct
from tools.jpegtran_wrapper import Jpegtran

from helpers import SEARCH_IMAGES, search_image


@pytest.fixture(scope="module")
def jt() -> Jpegtran:
    return Jpegtran.find()


@pytest.mark.parametrize("n_in,n_out", [(100, 10), (97, 24), (240, 120), (35, 9)])
def test_lanczos_matrix_is_pillows(n_in: int, n_out: int) -> None:
    line = np.random.default_rng(n_in).uniform(0, 255, (1, n_in)).astype(np.float32)
    pillow = np.asarray(Image.fromarray(line, "F").resize((n_out, 1), Image.LANCZOS))[0]
    np.testing.assert_allclose(lanczos_matrix(n_in, n_out) @ line[0], pillow, atol=1e-3)


def test_point_transform() -> None:
    v = np.array([-9, -4, -1, 0, 1, 5, 12])
    assert list(reconstruct(v, 2, dc=False)) == [-8, -4, 0, 0, 0, 4, 12]
    assert list(reconstruct(v, 2, dc=True)) == [-12, -4, -4, 0, 0, 4, 12]
    assert not reconstruct(v, NOT_SENT, dc=True).any()


@pytest.mark.parametrize("name", sorted(SEARCH_IMAGES))
@pytest.mark.parametrize("scale", [0.1, 0.5])
def test_model_reconstructs_the_resized_decode(jt: Jpegtran, name: str, scale: float) -> None:
    """With nothing sent, the modelled error image is the whole resized image (minus 128)."""
    src = search_image(name)
    s = parse(src)
    dct = coefficients.read(transcode.to_sequential(src, jt))
    basis = ResizedBasis.build(dct, s.color_space, scale, 10**9)
    model = QualityModel(basis, dct, [[NOT_SENT] * 64 for _ in dct.components])
    ref, _ = model.images()
    real = resized(decode_rgb(src), (basis.shape[1], basis.shape[0])).astype(float)
    assert np.mean((ref - real) ** 2) < 2.0  # rounding and clipping only


def test_incremental_updates_match_a_fresh_model(jt: Jpegtran) -> None:
    src = search_image("astronaut-q85-420")
    s = parse(src)
    dct = coefficients.read(transcode.to_sequential(src, jt))
    basis = ResizedBasis.build(dct, s.color_space, 0.25, 4000)
    levels = [[NOT_SENT] * 64 for _ in dct.components]
    model = QualityModel(basis, dct, levels)
    for step in [Step(0, 0, 0, 3), Step(1, 0, 0, 0), Step(0, 1, 0, 2), Step(0, 0, 3, 2), Step(2, 0, 0, 1)]:
        predicted = model.sse - model.gains([step])[0]
        model.apply(step)
        levels[step.component][step.k] = step.al
        assert model.sse == pytest.approx(predicted, rel=1e-9)
        assert model.sse == pytest.approx(QualityModel(basis, dct, levels).sse, rel=1e-6)


def test_byte_cost_grows_with_precision(jt: Jpegtran) -> None:
    dct = coefficients.read(transcode.to_sequential(search_image("coffee-q95-444"), jt))
    cost = ByteCost([c.coefficients for c in dct.components], 4, 0.0)
    coarse, fine = cost.bytes(Step(0, 1, 0, 3)), cost.bytes(Step(0, 1, 0, 0))
    assert 0 < coarse < fine
    assert cost.bytes(Step(0, 0, 1, 0)) == pytest.approx(dct.components[0].coefficients[:, :, 0].size / 8)
