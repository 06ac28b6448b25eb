"""The read path: colour handling, any width or height, bad requests and ids, DCT scaling."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from pjstore import samples
from pjstore.errors import InvalidRequest, NotFound
from pjstore.ingest import IngestOptions, ingest, prepare
from pjstore.read_path.serve import render
from pjstore.render.colour import to_served
from pjstore.render.pipeline import make_rendition, pixels
from pjstore.rendition.recipe import Recipe

from helpers import near_srgb_icc, served_psnr

# Every kind of upload served at every scale, upright, as baseline from its prefix: test_edge_cases.py.


def test_orientation_is_applied(store, kinds):
    record, _ = ingest(store, kinds["oriented_6"])
    served = np.asarray(Image.open(io.BytesIO(render(store, record.id, scale=1.0).data)).convert("RGB"), float)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(kinds["oriented_6"]))).convert("RGB"), float)
    assert served.shape == upright.shape == (240, 160, 3)
    assert 10 * np.log10(255**2 / np.mean((served - upright) ** 2)) >= 32  # same picture, same way up, to the contract


def test_srgb_profile_is_not_served(store, kinds):
    record, _ = ingest(store, kinds["icc"])  # an sRGB profile: the pixels are already sRGB
    assert Image.open(io.BytesIO(render(store, record.id, scale=0.25).data)).info.get("icc_profile") is None


def test_other_profiles_are_converted_to_srgb_or_kept_by_option(store, kinds):
    source = kinds["wide_icc"]  # red and blue primaries swapped: converting swaps the channels
    record, _ = ingest(store, source)
    served = Image.open(io.BytesIO(render(store, record.id, scale=1.0).data))
    assert served.info.get("icc_profile") is None
    assert served_psnr(source, render(store, record.id, scale=1.0).data, 1.0) >= 32
    raw = np.asarray(Image.open(io.BytesIO(source)).convert("RGB"), float)
    assert np.mean((np.asarray(served, float) - raw[..., ::-1]) ** 2) < np.mean((np.asarray(served, float) - raw) ** 2)
    p = prepare(source, IngestOptions(keep_profile=True))
    kept = [e for e in p.record.offsets.entries if e.recipe.colour == "keep"]
    assert kept, "the profile is kept where it does not dwarf the rendition"
    for e in kept:
        data, _ = make_rendition(p.blob if e.offset == len(p.blob) else p.blob[:e.offset] + b"\xff\xd9", e.recipe,
                            (e.width, e.height))
        icc = Image.open(io.BytesIO(source)).info["icc_profile"]
        assert Image.open(io.BytesIO(data)).info.get("icc_profile") == icc
        assert len(icc) * 2 <= len(data)


def test_srgb_under_another_name_is_served_as_decoded_and_older_conversions_stand():
    """A profile that is sRGB but for rounding (as the "c2" most hires uploads carry) is neither
    converted nor served; records made when it was converted still get the pixels they promise."""
    blocks = np.random.default_rng(0).integers(0, 256, (16, 24, 3), dtype=np.uint8)  # colours the nudge moves
    source = samples.encode(np.kron(blocks, np.ones((8, 8, 1), np.uint8)), 95, "4:4:4", icc_profile=near_srgb_icc())
    p = prepare(source)
    assert {e.recipe.colour for e in p.record.offsets.entries} == {"none"}
    whole = p.record.offsets.entries[-1]
    data, _ = make_rendition(p.blob, whole.recipe, (whole.width, whole.height))
    assert Image.open(io.BytesIO(data)).info.get("icc_profile") is None
    assert served_psnr(source, data, 1.0) >= 32
    decoded = Image.open(io.BytesIO(source))
    decoded.load()
    profile = ImageCms.ImageCmsProfile(io.BytesIO(decoded.info["icc_profile"]))
    before = ImageCms.profileToProfile(decoded, profile, ImageCms.createProfile("sRGB"), outputMode="RGB")
    for colour in ("convert", "convert_resized"):
        served, _ = pixels(decoded, Recipe(colour=colour), decoded.size)
        assert served.tobytes() == before.tobytes() != decoded.tobytes()


def test_new_recipes_convert_after_the_resize_and_old_ones_before(kinds):
    """A record made with colour "convert" is served as verified (transform, then resize); new
    recipes transform the resized pixels only."""
    source = kinds["linear_icc"]
    p = prepare(source)
    for e in p.record.offsets.entries:  # the whole file serves its floor, made the ideal way
        assert e.recipe.colour == ("convert" if e.offset == len(p.blob) else "convert_resized"), e
    decoded = Image.open(io.BytesIO(source))
    size = (decoded.width // 4, decoded.height // 4)
    late, _ = pixels(decoded, Recipe(colour="convert_resized"), size)
    early, _ = pixels(decoded, Recipe(colour="convert"), size)
    assert np.array_equal(np.asarray(late), np.asarray(to_served(decoded.resize(size, Image.LANCZOS), "convert")[0]))
    assert np.array_equal(np.asarray(early), np.asarray(to_served(decoded, "convert")[0].resize(size, Image.LANCZOS)))
    assert not np.array_equal(np.asarray(late), np.asarray(early))


def test_cmyk_is_served_as_rgb_with_its_colours(store, kinds):
    record, _ = ingest(store, kinds["cmyk"])
    served = Image.open(io.BytesIO(render(store, record.id, scale=1.0).data))
    assert served.mode == "RGB"
    assert served_psnr(kinds["cmyk"], render(store, record.id, scale=1.0).data, 1.0) >= 32


def test_any_width_or_height_from_the_smallest_covering_scale(store, kinds):
    record, _ = ingest(store, kinds["420_q75"])  # 240x200; scales 24x20, 60x50, 120x100
    r = render(store, record.id, width=50)
    assert (r.width, r.height) == (50, 42) and r.scale == 0.25
    r = render(store, record.id, height=100)
    assert (r.width, r.height) == (120, 100) and r.scale == 0.5
    r = render(store, record.id, width=121)
    assert (r.width, r.height) == (121, 101) and r.scale == 1.0
    assert Image.open(io.BytesIO(r.data)).size == (121, 101)


def test_width_is_upright(store, kinds):
    record, _ = ingest(store, kinds["oriented_6"])  # stored 240x160, upright 160x240
    r = render(store, record.id, width=160)
    assert (r.width, r.height) == (160, 240)
    with pytest.raises(InvalidRequest):
        render(store, record.id, width=161)


@pytest.mark.parametrize("request_args", [{"scale": 0.3}, {"scale": 2.0}, {"width": 0}, {"width": 241},
                                          {"height": 201}, {}, {"width": 10, "height": 10}])
def test_bad_requests(store, kinds, request_args):
    record, _ = ingest(store, kinds["420_q75"])
    with pytest.raises(InvalidRequest):
        render(store, record.id, **request_args)


def test_unknown_and_malformed_ids(store):
    with pytest.raises(NotFound):
        render(store, "0" * 64, scale=0.1)
    for bad in ("../../etc/passwd", "A" * 64, "abc", "0" * 63 + "/"):
        with pytest.raises(InvalidRequest):
            render(store, bad, scale=0.1)


@pytest.mark.parametrize("draft", [2, 4, 8])
def test_dct_scaling_keeps_exact_sizes(draft):
    source = samples.encode(samples.pixels("astronaut")[:203, :301], 90)
    for size in [(150, 101), (37, 25), (7, 5), (1, 1), (301, 203)]:
        data, served = make_rendition(source, Recipe(draft=draft), size)
        assert served == size == Image.open(io.BytesIO(data)).size
