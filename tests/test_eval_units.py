"""The evaluation's pure parts: the static copies' quality search and the workload projection."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from pjstore.evaluation.projection import Workload, project
from pjstore.evaluation.static_copies import icc_profile, make_copies
from pjstore.quality.contract import QualityTarget, Reference
from pjstore.render.encode import encode

from helpers import contract_psnr


@pytest.mark.parametrize("kind", ["420_q75", "444_q95", "gray", "icc", "tiny_7x5"])
def test_static_copies_are_at_the_lowest_passing_quality(kinds, kind):
    source = kinds[kind]
    target = QualityTarget()
    reference = Reference.from_source(source, target)
    icc = icc_profile(source)
    for copy, threshold in zip(make_copies(reference, icc), target.thresholds, strict=True):
        assert copy.score == pytest.approx(contract_psnr(source, copy.data, copy.scale), abs=1e-6)
        assert copy.meets == (copy.score >= threshold)
        if not copy.meets:
            assert copy.quality == 100
        elif copy.quality > 1:  # one quality step lower, same chroma, misses
            lower = encode(Image.fromarray(reference.at(reference.size(copy.scale))), copy.quality - 1, icc,
                           copy.subsampling)
            assert contract_psnr(source, lower, copy.scale) < threshold
        with Image.open(io.BytesIO(copy.data)) as im:
            luma, chroma = im.layer[0], im.layer[1]
            assert (luma[1] > chroma[1]) == (copy.subsampling == "4:2:0")


def test_copies_keep_an_rgb_sources_profile_only(kinds):
    assert icc_profile(kinds["icc"])
    assert icc_profile(kinds["420_q75"]) is None
    assert icc_profile(kinds["cmyk"]) is None  # a CMYK profile would mislabel RGB copies


def test_projection_multiplies_means_by_the_workload():
    w = Workload(images=1000, requests_per_image=10, mix=(0.5, 0.3, 0.15, 0.05))
    p = project(100.0, np.array([2.0, 4.0, 8.0, 100.0]), w)
    assert p.stored_bytes == pytest.approx(100_000)
    assert p.read_bytes == pytest.approx(1000 * 10 * (1 + 1.2 + 1.2 + 5))
    with pytest.raises(ValueError):
        project(100.0, np.array([1.0, 2.0]), w)


@pytest.mark.parametrize("mix", [(0.5, 0.5, 0.5, 0.5), (1.5, -0.5, 0, 0)])
def test_a_workload_mix_must_be_shares(mix):
    with pytest.raises(ValueError):
        Workload(10, 1, mix)
