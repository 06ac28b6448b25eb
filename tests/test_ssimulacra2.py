"""SSIMULACRA 2 against the reference implementation's scores (tests/fixtures/ssimulacra2_scores.json,
made by tests/ssimulacra2_pairs.py with Cloudinary's C++), and the properties its callers rely on."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image, features
from skimage import data

from pjstore.quality.recursive_gaussian import RecursiveGaussian, emulated, fir
from pjstore.quality.ssimulacra2 import score

from ssimulacra2_pairs import FIXTURE, FORMAT_VERSION, PAIRS, SLOW_PIXELS, pixel_hash

TOLERANCE = 0.5  # the agreement the project promises with the reference

_FIXTURE = json.loads(FIXTURE.read_text())
_ROWS = {row["id"]: row for row in _FIXTURE["pairs"]}


def test_fixture_covers_every_pair():
    assert _FIXTURE["version"] == FORMAT_VERSION
    assert sorted(_ROWS) == sorted(p.id for p in PAIRS), "regenerate the fixture: tests/ssimulacra2_pairs.py"
    assert len(PAIRS) >= 40
    assert min(p.pixels for p in PAIRS) <= 64 and max(p.pixels for p in PAIRS) >= 12_000_000


@pytest.mark.parametrize("pair", [pytest.param(p, id=p.id, marks=[pytest.mark.slow] if p.pixels > SLOW_PIXELS else [])
                                  for p in PAIRS])
def test_agrees_with_the_reference(pair):
    if pair.needs and not features.check(pair.needs):
        pytest.skip(f"this Pillow has no {pair.needs}")
    row = _ROWS[pair.id]
    reference, distorted = pair.make()
    if (pixel_hash(reference), pixel_hash(distorted)) != (row["reference_pixels"], row["distorted_pixels"]):
        pytest.fail(f"{pair.id}: the pair's pixels differ from the fixture's ({pair.made}); the fixture was made "
                    f"with encoders {_FIXTURE['encoders']}, this Pillow has "
                    f"{ {n: features.version(n) for n in _FIXTURE['encoders']} }: regenerate the fixture")
    assert score(reference, distorted) == pytest.approx(row["score"], abs=TOLERANCE)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf))


def test_identical_images_score_100():
    image = data.chelsea()
    assert score(image, image.copy()) == 100.0


def test_ranks_jpeg_qualities():
    image = data.coffee()[:200, :300]
    scores = [score(image, _jpeg(image, q)) for q in (20, 50, 80, 95)]
    assert scores == sorted(scores) and scores[-1] < 100.0


def test_grey_is_its_three_equal_channels():
    image = data.camera()[:120, :160]
    distorted = _jpeg(image, 40)
    as_rgb = score(np.stack([image] * 3, axis=-1), np.stack([distorted] * 3, axis=-1))
    assert score(image, distorted) == score(image[:, :, None], distorted[:, :, None]) == as_rgb


@pytest.mark.parametrize("reference, distorted, message", [
    (np.zeros((7, 20, 3), np.uint8), np.zeros((7, 20, 3), np.uint8), "at least 8x8"),
    (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8), "shape mismatch"),
    (np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 3), np.float32), "uint8"),
    (np.zeros((8, 8, 4), np.uint8), np.zeros((8, 8, 4), np.uint8), "HxWx3"),
])
def test_refuses_what_the_reference_refuses(reference, distorted, message):
    with pytest.raises(ValueError, match=message):
        score(reference, distorted)


def test_kernel_is_a_normalised_gaussian():
    kernel = RecursiveGaussian.create(1.5).kernel.astype(np.float64)
    taps = np.arange(len(kernel)) - len(kernel) // 2
    assert np.allclose(kernel, kernel[::-1]) and kernel.sum() == pytest.approx(1.0, abs=1e-6)
    assert (kernel * taps * taps).sum() == pytest.approx(1.5 ** 2, rel=0.05)


@pytest.mark.parametrize("shape", [(2, 4, 5), (1, 8, 9), (3, 13, 12), (2, 40, 61)])
def test_emulated_blur_is_the_same_filter(shape):
    """The emulation (the reference's float32 steps; scalar paths below 12 px, unrolled above) and
    the exact FIR differ only by float32 rounding."""
    rg = RecursiveGaussian.create(1.5)
    planes = np.random.default_rng(0).random(shape, dtype=np.float32)
    exact = planes.copy()
    fir(exact, rg, np.empty_like(exact))
    blurred = emulated(planes, rg)
    assert blurred.shape == shape and np.abs(blurred - exact).max() < 1e-5


@pytest.mark.parametrize("kind", ["420_q75", "gray", "tiny_7x5"])  # tiny: 7x5 at full size
def test_served_renditions_meet_an_ssimulacra2_target(kinds, kind):
    """`--metric ssimulacra2`: what each recipe serves scores at least the threshold against the
    independent reference (helpers.served_reference), graded with the fixture-checked score; below
    8x8 the metric falls back to exact equality, as SSIM's does."""
    from pjstore.ingest import IngestOptions, prepare
    from pjstore.quality.contract import QualityTarget
    from pjstore.quality.metrics import DEFAULT_THRESHOLDS
    from pjstore.render.decode import EOI
    from pjstore.render.pipeline import make_rendition

    from helpers import open_image, served_reference

    threshold = DEFAULT_THRESHOLDS["ssimulacra2"]
    source = kinds[kind]
    prepared = prepare(source, IngestOptions(target=QualityTarget.uniform(threshold=threshold, metric="ssimulacra2")))
    record, stored = prepared.record, prepared.blob
    assert record.offsets.metric == "ssimulacra2"
    for entry in record.offsets.entries:
        prefix = stored if entry.offset == len(stored) else stored[:entry.offset] + EOI
        data, _ = make_rendition(prefix, entry.recipe, (entry.width, entry.height), record.orientation)
        want = served_reference(source, (entry.width, entry.height)).astype(np.uint8)
        got = np.asarray(open_image(data).convert("RGB"))
        if min(want.shape[:2]) < 8:  # the fallback: exact equality (100) or 0
            assert entry.score == (100.0 if np.array_equal(want, got) else 0.0)
            continue
        assert score(want, got) >= threshold
        assert score(want, got) == pytest.approx(entry.score, abs=1e-4)  # records keep 4 decimals


def test_ssimulacra2_thresholds_are_bounded_and_defaulted():
    from pjstore.cli.store_commands import quality_target
    from pjstore.quality.contract import QualityTarget

    with pytest.raises(ValueError, match="cannot exceed 100"):
        QualityTarget.uniform(threshold=101.0, metric="ssimulacra2")
    assert quality_target("0.25,0.5", None, "ssimulacra2").thresholds == (70.0, 70.0)
    assert quality_target("0.25,0.5", None, "psnr").thresholds == (32.0, 32.0)
