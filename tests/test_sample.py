"""The quality search's sample of large renditions: tiles encode as they would in place, and the
sample only guides the search (the recipe chosen is the same, found with fewer full-size encodes)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from pjstore.quality.contract import QualityTarget, Reference
from pjstore.quality.metrics import METRICS
from pjstore.render import pipeline
from pjstore.render.encode import encode
from pjstore.rendition import sample
from pjstore.rendition.choose import Look, ScaleSearch, choose
from pjstore.rendition.prediction import SampledSearch
from pjstore.rendition.recipe import Recipe

from helpers import crop

TILE, EDGE = sample.TILE, sample.EDGE


def big_photo(width: int = 1536, height: int = 1024) -> np.ndarray:
    """A natural photo larger than the sampling threshold (scikit-image's astronaut, upscaled)."""
    return np.asarray(Image.fromarray(crop("astronaut", 512, 512)).resize((width, height), Image.Resampling.BICUBIC))


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_tiles_are_one_in_eight_and_reach_every_column():
    rows, cols = 40, 30
    picked = sample.tiles(rows * TILE + 77, cols * TILE + 5)  # partial tiles at the edges are never taken
    assert all(0 <= i < rows and 0 <= j < cols for i, j in picked)
    assert abs(len(picked) - rows * cols / sample.SHARE) <= rows
    assert {j for _, j in picked} == set(range(cols))
    assert {i for i, _ in picked} == set(range(rows))


@pytest.mark.parametrize("channels", [(), (3,)])
def test_the_mosaic_holds_the_sampled_tiles_side_by_side(channels):
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (20 * TILE + 30, 14 * TILE + 100, *channels), dtype=np.uint8)
    mosaic = sample.mosaic(image)
    assert mosaic is not None and mosaic.flags.c_contiguous
    per_row = mosaic.shape[1] // TILE
    picked = sample.tiles(*image.shape[:2])
    count = (mosaic.shape[0] // TILE) * per_row
    assert mosaic.shape == ((count // per_row) * TILE, per_row * TILE, *channels)
    assert len(picked) - per_row < count <= len(picked)  # only a last, partial row of tiles is left out
    for n, (i, j) in enumerate(picked[:count]):
        r, c = divmod(n, per_row)
        np.testing.assert_array_equal(mosaic[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE],
                                      image[i * TILE:(i + 1) * TILE, j * TILE:(j + 1) * TILE])


def test_a_strip_too_thin_for_a_sample_has_none():
    assert sample.mosaic(np.zeros((TILE - 1, 100 * TILE, 3), np.uint8)) is None
    assert sample.mosaic(np.zeros((2 * TILE, 4 * TILE), np.uint8)) is None  # one tile picked: no mosaic


def test_inner_leaves_out_each_tiles_edges():
    marks = np.zeros((3 * TILE, 2 * TILE), np.uint8)
    for start in range(0, marks.shape[0], TILE):
        marks[start:start + EDGE] = marks[start + TILE - EDGE:start + TILE] = 255
    for start in range(0, marks.shape[1], TILE):
        marks[:, start:start + EDGE] = marks[:, start + TILE - EDGE:start + TILE] = 255
    marks[marks == 0] = 7
    kept = sample.inner(marks)
    assert kept.shape == (3 * (TILE - 2 * EDGE), 2 * (TILE - 2 * EDGE))
    assert (kept == 7).all()


@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:0"])
def test_a_tile_decodes_in_the_mosaic_as_it_does_in_the_whole_image(subsampling):
    # Why the sample's score tracks the whole image's: MCU-aligned tiles are quantized as the same
    # blocks, so away from the tiles' edges the decoded pixels are the very same.
    image = big_photo()
    whole = decoded(encode(Image.fromarray(image), 40, None, subsampling))
    mosaic = sample.mosaic(image)
    assert mosaic is not None
    alone = decoded(encode(Image.fromarray(mosaic), 40, None, subsampling))
    expected = sample.mosaic(whole)
    assert expected is not None
    np.testing.assert_array_equal(sample.inner(alone), sample.inner(expected))


def test_only_renditions_above_a_megapixel_are_sampled():
    source = encode(Image.fromarray(big_photo()), 92, None, "4:2:0")
    reference = Reference.from_source(source, QualityTarget.uniform((0.5,), 32.0))
    small = ScaleSearch(reference, reference.size(0.5), 32.0, Look())
    assert small.sampled_want is None
    assert SampledSearch.of(Image.fromarray(reference.at(small.size)), small.sampled_want, Recipe(), None,
                            "psnr") is None
    large = ScaleSearch(reference, reference.size(1.0), 32.0, Look())
    mosaic = sample.mosaic(np.asarray(reference.image))
    assert mosaic is not None and large.sampled_want is not None
    np.testing.assert_array_equal(large.sampled_want, sample.inner(mosaic))


def test_the_sample_guides_the_search_to_the_same_recipe_with_fewer_full_size_encodes(monkeypatch):
    image = big_photo()
    assert image.shape[0] * image.shape[1] > sample.ABOVE
    source = encode(Image.fromarray(image), 92, None, "4:2:0")
    reference = Reference.from_source(source, QualityTarget.uniform((0.5,), 32.0))
    counts: dict[str, int] = {}
    real_encode = pipeline.encode_pixels

    def counted(label: str):
        def encode_pixels(pixels, *args, **kwargs):
            if pixels.size == (image.shape[1], image.shape[0]):
                counts[label] = counts.get(label, 0) + 1
            return real_encode(pixels, *args, **kwargs)
        return encode_pixels

    chosen = {}
    for label in ("sampled", "whole"):
        if label == "whole":
            monkeypatch.setattr(SampledSearch, "of", classmethod(lambda cls, *args: None))
        monkeypatch.setattr(pipeline, "encode_pixels", counted(label))
        chosen[label] = choose(source, (len(source),), reference, 1.0, 32.0, Look(), {1.25: 0})
    assert chosen["sampled"] == chosen["whole"]
    assert chosen["sampled"][1.25].score >= 32.0
    assert counts["sampled"] < counts["whole"] / 2


@pytest.mark.parametrize("metric, threshold", [("psnr", 32.0), ("ssim", 0.95)])
def test_grey_renditions_are_sampled_against_the_rgb_reference(metric, threshold):
    grey = Image.fromarray(big_photo()).convert("L")
    want = np.asarray(grey.convert("RGB"))
    wanted = sample.mosaic(want)
    assert wanted is not None
    sampled = SampledSearch.of(grey, sample.inner(wanted), Recipe(subsampling="4:2:0"), None, metric)
    assert sampled is not None
    q = sampled.quality(threshold)
    assert q is not None and 1 < q < 100
    mosaic = sample.mosaic(np.asarray(grey))
    assert mosaic is not None
    def score(quality: int) -> float:
        tiles = decoded(encode(Image.fromarray(mosaic), quality, None, "4:2:0"))
        return METRICS[metric](sample.inner(sample.mosaic(want)), sample.inner(tiles))
    assert score(q) >= threshold > score(q - 1)
