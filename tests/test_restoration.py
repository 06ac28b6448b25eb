"""The restoration filter: its fit, its application by the read path, and its place in records.

The oracle here is plain numpy written apart from pjstore's (a 5x5 correlation with repeated
edges, PSNR), and the served renditions are graded by tests/helpers' independent reference.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image
from skimage import data as samples

from pjstore.render.restore import restore
from pjstore.rendition.recipe import Recipe
from pjstore.rendition.restoration import TAPS, Restoration, fit

from helpers import open_image, served_psnr, served_reference


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def correlate5(pixels: np.ndarray, kernel: np.ndarray, offset: float = 0.0) -> np.ndarray:
    """The oracle's filter: each output sample the kernel-weighted sum of its 5x5 neighbourhood,
    the image's edge repeated beyond it, plus `offset`, rounded and clipped to 0..255."""
    x = pixels.astype(np.float64)
    pad = ((2, 2), (2, 2)) + ((0, 0),) * (x.ndim - 2)
    p = np.pad(x, pad, mode="edge")
    h, w = x.shape[:2]
    out = np.full_like(x, offset)
    for i in range(5):
        for j in range(5):
            out += kernel[i, j] * p[i:i + h, j:j + w]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def blurred(pixels: np.ndarray) -> np.ndarray:
    """A soft copy, as a prefix decodes: a binomial 5x5 blur, darkened by two levels."""
    k = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256.0
    return correlate5(pixels, k, offset=-2.0)


@pytest.fixture(scope="module")
def cat() -> bytes:
    """A photo as uploaded (scikit-image's chelsea, quality 90)."""
    out = io.BytesIO()
    Image.fromarray(samples.chelsea()).save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="module")
def cat_record(cat):
    from pjstore.ingest import prepare

    return prepare(cat).record


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.asarray(Image.fromarray(samples.astronaut()).resize((160, 160), Image.LANCZOS))


def test_the_fit_undoes_much_of_a_blur(photo):
    soft = blurred(photo)
    restoration = fit(soft, photo)
    restored = np.asarray(restore(Image.fromarray(soft), restoration))
    assert psnr(restored, photo) >= psnr(soft, photo) + 1.5
    # The read path's filter is the oracle's, up to rounding, edges included.
    oracle = correlate5(soft, np.array(restoration.kernel()).reshape(5, 5), restoration.offset)
    assert np.abs(restored.astype(int) - oracle.astype(int)).max() <= 1
    assert abs(restoration.offset - 2.0) < 1.5, "a level shift is undone by the offset"


def test_a_sharp_image_is_left_as_it_is(photo):
    restoration = fit(photo, photo)
    assert restoration.taps[0] == pytest.approx(1.0, abs=1e-3)
    assert max(abs(t) for t in restoration.taps[1:]) < 1e-3
    assert np.array_equal(np.asarray(restore(Image.fromarray(photo), restoration)), photo)


def test_grey_images_are_fit_and_restored_alike(photo):
    grey = np.asarray(Image.fromarray(photo).convert("L"))
    soft = blurred(grey)
    restoration = fit(soft, np.repeat(grey[..., None], 3, axis=2))
    restored = restore(Image.fromarray(soft), restoration)
    assert restored.mode == "L"
    assert psnr(np.asarray(restored), grey) >= psnr(soft, grey) + 1.5


def test_the_kernel_has_the_square_symmetries():
    r = Restoration(10, 10, tuple(float(i + 1) for i in range(len(TAPS))), 0.5)
    k = np.array(r.kernel()).reshape(5, 5)
    assert k[2, 2] == 1.0
    for t in (k, k.T, k[::-1], k[:, ::-1]):
        assert np.array_equal(t, k)


@pytest.mark.parametrize("bad", [dict(taps=(1.0,) * 5), dict(taps=(math.nan,) + (0.0,) * 5),
                                 dict(taps=(17.0,) + (0.0,) * 5), dict(offset=1e6), dict(offset="3"), dict(width=0),
                                 dict(height=2.5)])
def test_restorations_validate_themselves(bad):
    with pytest.raises(ValueError):
        Restoration(**{"width": 10, "height": 10, "taps": (1.0,) + (0.0,) * 5, "offset": 0.0, **bad})


def test_recipes_carry_it_through_json_and_older_rows_have_none():
    r = Recipe(draft=4, quality=80, restore=Restoration(50, 38, (1.2, -0.05, 0.0, 0.0, 0.0, 0.01), 3.3))
    assert Recipe.from_json(r.to_json()) == r
    older = {k: v for k, v in r.to_json().items() if k != "restore"}
    assert Recipe.from_json(older).restore is None


def test_sizes_far_below_the_fit_are_restored_at_its_own_size():
    r = Restoration(100, 80, (1.0,) + (0.0,) * 5)
    assert r.at((99, 79)) == (99, 79)
    assert r.at((40, 32)) == (100, 80)


def test_restored_renditions_meet_the_target_at_stored_and_between_sizes(tmp_path, cat):
    from pjstore.ingest import ingest
    from pjstore.read_path.serve import render
    from pjstore.storage import LmdbStorage

    source = cat
    with LmdbStorage(tmp_path / "store") as store:
        record, _ = ingest(store, source)
        restored = [e for e in record.offsets.entries if e.recipe.restore is not None]
        assert restored, "the write path restores where that lets a smaller prefix serve"
        for e in restored:
            r = render(store, record.id, scale=e.scale)
            assert r.recipe == e.recipe and len(r.data) == e.served_bytes
            assert served_psnr(source, r.data, e.scale) >= 32.0
            # Between stored scales the covering scale's restoration is used, at the requested
            # size or (far below the fit's) at its own and resized after.
            for w in (e.width - 1, int(e.width * 0.6)):
                between = render(store, record.id, width=w)
                got = np.asarray(open_image(between.data).convert("RGB"))
                assert between.recipe.restore == e.recipe.restore
                assert psnr(got, served_reference(source, got.shape[1::-1])) >= 32.0


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 3, 3), (7, 5, 3), (40, 30, 3)])
def test_flat_and_tiny_images_get_a_bounded_fit(shape):
    flat = np.full(shape, 100, np.uint8)
    reference = np.full(shape, 103, np.uint8)
    restoration = fit(flat, reference)
    assert restoration is not None
    restored = np.asarray(restore(Image.fromarray(flat), restoration))
    assert np.abs(restored.astype(int) - 103).max() <= 1


def test_version_3_records_load_without_restoration_and_newer_ones_are_refused(cat_record):
    import json

    from pjstore.errors import CorruptRecord
    from pjstore.record import ImageRecord

    doc = json.loads(cat_record.dumps())
    assert doc["v"] == 4 and any(row["recipe"]["restore"] for row in doc["scales"])
    for row in doc["scales"]:
        del row["recipe"]["restore"]
    del doc["recipe_search"]
    old = ImageRecord.loads(json.dumps({**doc, "v": 3}).encode())
    assert all(e.recipe.restore is None for e in old.offsets.entries)
    assert old.recipe_search == 1 and not old.current(), "chosen by the first search: migrate re-chooses it"
    assert [e.offset for e in old.offsets.entries] == [e.offset for e in cat_record.offsets.entries]
    with pytest.raises(CorruptRecord, match="newer pjstore"):
        ImageRecord.loads(json.dumps({**doc, "v": 5}).encode())


def test_renditions_above_the_pixel_cap_are_not_restored(cat, monkeypatch):
    from pjstore.ingest import prepare
    from pjstore.rendition import restoration

    monkeypatch.setattr(restoration, "MAX_PIXELS", 100 * 80)  # between the 10% (45x30) and 25% sizes
    entries = prepare(cat).record.offsets.entries
    assert all(e.recipe.restore is None for e in entries if e.width * e.height > 100 * 80)
    assert any(e.recipe.restore is not None for e in entries if e.width * e.height <= 100 * 80)


def test_migrate_rechooses_recipes_of_an_older_search_keeping_the_record_s_policy(tmp_path, cat, monkeypatch):
    from dataclasses import replace

    from pjstore.ingest import IngestOptions, prepare
    from pjstore.migrate import migrate
    from pjstore.rendition import restoration
    from pjstore.storage import LmdbStorage

    from helpers import assert_served_meets_contract

    source = cat
    with monkeypatch.context() as m:  # the first recipe search: no restoration anywhere
        m.setattr(restoration, "MAX_PIXELS", 0)
        old = prepare(source, IngestOptions(egress=1.5))
    record = replace(old.record, recipe_search=1)
    assert not record.current()
    with LmdbStorage(tmp_path / "store") as store:
        store.put(record, old.blob)
        report = migrate(store)  # the default options' egress (1.25) is not the record's
        assert report.upgraded == (record.id,) and not report.failed
        new = store.info(record.id)
        assert new.recipe_search == 2 and new.current() and new.egress == 1.5
        assert any(e.recipe.restore is not None for e in new.offsets.entries)
        assert_served_meets_contract(source, old.blob, new, new.target, egress=1.5)
        assert migrate(store).upgraded == (), "a rerun skips records already current"


@pytest.mark.parametrize("corrupt", [{"taps": [1.0] * 5}, {"taps": [1e9] + [0.0] * 5}, {"offset": "x"},
                                     {"width": -3}, "not a filter", {"recipe_search": 7}, {"recipe_search": True}])
def test_records_with_a_corrupt_restoration_or_generation_are_a_typed_error(cat_record, corrupt):
    import json

    from pjstore.errors import CorruptRecord
    from pjstore.record import ImageRecord

    doc = json.loads(cat_record.dumps())
    if isinstance(corrupt, dict) and "recipe_search" in corrupt:
        doc.update(corrupt)
    else:
        row = next(r for r in doc["scales"] if r["recipe"]["restore"])
        row["recipe"]["restore"] = corrupt if isinstance(corrupt, str) else {**row["recipe"]["restore"], **corrupt}
    with pytest.raises(CorruptRecord):
        ImageRecord.loads(json.dumps(doc).encode())
