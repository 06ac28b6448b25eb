"""The write path: lossless storage, recipes whose served files meet the contract by real decode
(and, under the prefix contract, offsets whose decoded prefixes do), idempotence, and nothing
written for bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from pjstore import ids
from pjstore.encoder import coefficients
from pjstore.encoder.structure import parse
from pjstore.errors import InvalidInput, NotAJpeg, TooLarge, TruncatedJpeg
from pjstore.ingest import IngestOptions, ingest, prepare
from pjstore.quality.contract import QualityTarget
from pjstore.read_path.pipeline import transcode

from conftest import KINDS, contract_psnr, floor_bytes, jpegtran, served_psnr

EOI = b"\xff\xd9"


def assert_lossless(source: bytes, stored: bytes) -> None:
    a = coefficients.read(jpegtran(source, "-copy", "none"))
    b = coefficients.read(stored)
    assert len(a.components) == len(b.components)
    for x, y in zip(a.components, b.components):
        assert np.array_equal(x.coefficients, y.coefficients)
        assert np.array_equal(x.quant, y.quant)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(source)).convert("RGB")),
                          np.asarray(Image.open(io.BytesIO(stored)).convert("RGB")))


def assert_served_meets_contract(source: bytes, stored: bytes, record, target: QualityTarget,
                                 egress: float = 1.25) -> None:
    """Each row's recipe, run on its prefix, serves a file meeting the threshold (graded by the
    independent oracle), of the recorded length, within `egress` times the independent floor."""
    cuts = parse(stored).scan_ends
    previous = 0
    assert record.contract == "served"
    for entry, threshold in zip(record.offsets.entries, (*target.thresholds, target.thresholds[-1])):
        assert entry.offset in cuts or entry.offset == len(stored), "offsets are scan-complete prefixes"
        assert entry.offset >= previous, "offsets never decrease with scale"
        prefix = stored if entry.offset == len(stored) else stored[: entry.offset] + EOI
        data, _ = transcode(prefix, entry.recipe, (entry.width, entry.height), record.orientation)
        got = served_psnr(source, data, entry.scale)
        assert got >= threshold
        assert got == pytest.approx(entry.score, abs=1e-3)
        assert len(data) == entry.served_bytes
        if entry.scale < 1:  # the whole image serves its own floor; finding it again is costly
            floor = floor_bytes(source, entry.scale, threshold)
            assert entry.floor_bytes <= floor * 1.02 + 16, "the floor is the smallest passing JPEG"
            assert len(data) <= egress * floor * 1.02 + 16
        else:
            assert len(data) == entry.floor_bytes
        previous = entry.offset
    assert record.offsets.entries[-1].scale == 1.0
    assert record.offsets.entries[-1].offset == len(stored)


def assert_offsets_meet_contract(source: bytes, stored: bytes, record, target: QualityTarget) -> None:
    """The prefix contract (0.1.0's, the dissertation's): the decoded prefix meets the threshold."""
    cuts = parse(stored).scan_ends
    previous = 0
    for entry, threshold in zip(record.offsets.entries, target.thresholds):
        assert entry.offset in cuts, "offsets are scan-complete prefixes"
        assert entry.offset >= previous, "offsets never decrease with scale"
        got = contract_psnr(source, stored[: entry.offset] + EOI, entry.scale)
        assert got >= threshold
        assert got == pytest.approx(entry.score, abs=1e-3)
        i = cuts.index(entry.offset)
        if i > 0 and cuts[i - 1] >= previous:  # smallest: one scan less misses the target
            assert contract_psnr(source, stored[: cuts[i - 1]] + EOI, entry.scale) < threshold
        previous = entry.offset
    assert record.offsets.entries[-1].scale == 1.0
    assert record.offsets.entries[-1].offset == len(stored)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_stores_losslessly_with_verified_offsets(kinds, kind):
    source = kinds[kind]
    options = IngestOptions()
    p = prepare(source, options)
    assert_lossless(source, p.blob)
    assert_served_meets_contract(source, p.blob, p.record, options.target)
    assert p.record.scans == len(parse(p.blob).scans) <= 100
    assert parse(p.blob).frame.progressive and not parse(p.blob).frame.arithmetic
    assert p.record.id == ids.image_id(source) and p.record.stored_bytes == len(p.blob)
    w, h = Image.open(io.BytesIO(source)).size
    for e in p.record.offsets.entries:
        assert (e.width, e.height) == (max(1, round(w * e.scale)), max(1, round(h * e.scale)))


def test_custom_scales_and_per_scale_thresholds(kinds):
    target = QualityTarget((0.2, 0.6), (30.0, 38.0))
    p = prepare(kinds["422_q90"], IngestOptions(target=target))
    assert [e.scale for e in p.record.offsets.entries] == [0.2, 0.6, 1.0]
    assert_served_meets_contract(kinds["422_q90"], p.blob, p.record, target)


@pytest.mark.parametrize("kind", ["420_q75", "oriented_6", "gray"])
def test_prefix_contract_keeps_0_1_0s_offsets(kinds, kind):
    p = prepare(kinds[kind], IngestOptions(contract="prefix"))
    assert p.record.contract == "prefix"
    assert_offsets_meet_contract(kinds[kind], p.blob, p.record, IngestOptions().target)
    assert {e.recipe.quality for e in p.record.offsets.entries} == {85}


@pytest.mark.parametrize("egress", [1.0, 2.0])
def test_egress_policy_bounds_served_bytes(kinds, egress):
    source = kinds["444_q95"]
    p = prepare(source, IngestOptions(egress=egress))
    assert_served_meets_contract(source, p.blob, p.record, IngestOptions().target, egress)


def test_ssim_metric_offsets_meet_their_threshold(kinds):
    from skimage.metrics import structural_similarity

    source = kinds["444_q95"]
    target = QualityTarget.uniform(metric="ssim", threshold=0.95)
    p = prepare(source, IngestOptions(target=target))
    for e in p.record.offsets.entries[:-1]:
        ref = Image.open(io.BytesIO(source)).convert("RGB").resize((e.width, e.height), Image.LANCZOS)
        served, _ = transcode(p.blob[: e.offset] + EOI, e.recipe, ref.size)
        cand = Image.open(io.BytesIO(served)).convert("RGB")
        assert structural_similarity(np.asarray(ref), np.asarray(cand), channel_axis=2, data_range=255) >= 0.95


def test_metadata_kept_and_dropped(kinds):
    stored = prepare(kinds["oriented_6"]).blob
    exif = Image.open(io.BytesIO(stored)).getexif()
    assert exif.get(0x0112) == 6
    assert 0x8825 not in exif, "GPS must not be stored"
    icc_source = Image.open(io.BytesIO(kinds["icc"])).info["icc_profile"]
    assert Image.open(io.BytesIO(prepare(kinds["icc"]).blob)).info["icc_profile"] == icc_source


def test_reingest_is_a_no_op(store, kinds):
    first, created = ingest(store, kinds["420_q75"])
    again, created_again = ingest(store, kinds["420_q75"])
    assert created and not created_again
    assert again == first and store.list() == [first.id]


@pytest.mark.parametrize("bad, error", [
    (b"", InvalidInput),
    (b"GIF89a" + bytes(100), NotAJpeg),
    (None, TruncatedJpeg),
])
def test_bad_input_writes_nothing_and_store_keeps_working(store, kinds, bad, error):
    data = kinds["420_q75"]
    bad = bad if bad is not None else data[: len(data) * 6 // 10]
    with pytest.raises(error):
        ingest(store, bad)
    assert store.list() == []
    record, created = ingest(store, data)
    assert created and store.list() == [record.id]


def test_limits(kinds):
    with pytest.raises(TooLarge, match="upload limit"):
        prepare(kinds["420_q75"], IngestOptions(max_bytes=1000))
    with pytest.raises(TooLarge, match="MP exceeds"):
        prepare(kinds["420_q75"], IngestOptions(max_pixels=1000))


def test_corrupt_entropy_data_is_rejected(kinds):
    data = bytearray(kinds["422_q90"])
    sos = data.index(b"\xff\xda")
    for i in range(sos + 200, len(data) - 10, 97):  # damage the entropy-coded data
        data[i] ^= 0x5A
    with pytest.raises(InvalidInput):
        prepare(bytes(data))
