"""The write path's options: scales, thresholds and metrics, contracts and the egress policy, kept
metadata, idempotence, limits."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from pjstore.errors import TooLarge
from pjstore.ingest import IngestOptions, ingest, prepare
from pjstore.quality.contract import QualityTarget
from pjstore.render.pipeline import make_rendition

from helpers import EOI, assert_offsets_meet_contract, assert_served_meets_contract

# Which uploads are stored losslessly and which are refused: test_edge_cases.py.


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


def test_ssim_metric_served_files_meet_their_threshold(kinds):
    from skimage.metrics import structural_similarity

    source = kinds["444_q95"]
    target = QualityTarget.uniform(metric="ssim", threshold=0.95)
    p = prepare(source, IngestOptions(target=target))
    for e in p.record.offsets.entries[:-1]:
        ref = Image.open(io.BytesIO(source)).convert("RGB").resize((e.width, e.height), Image.LANCZOS)
        served, _ = make_rendition(p.blob[: e.offset] + EOI, e.recipe, ref.size)
        cand = Image.open(io.BytesIO(served)).convert("RGB")
        assert structural_similarity(np.asarray(ref), np.asarray(cand), channel_axis=2, data_range=255) >= 0.95


def test_stored_exif_is_the_orientation_alone(kinds):
    stored = prepare(kinds["oriented_6"]).blob
    assert dict(Image.open(io.BytesIO(stored)).getexif()) == {0x0112: 6}, "GPS and the rest are dropped"


def test_reingest_is_a_no_op(store, kinds):
    first, created = ingest(store, kinds["420_q75"])
    again, created_again = ingest(store, kinds["420_q75"])
    assert created and not created_again
    assert again == first and store.list() == [first.id]


def test_limits_name_the_size_and_the_limit(kinds):
    data = kinds["420_q75"]  # 240x200
    with pytest.raises(TooLarge) as info:
        prepare(data, IngestOptions(max_bytes=1000))
    assert str(len(data)) in str(info.value) and "1000" in str(info.value)
    with pytest.raises(TooLarge) as info:
        prepare(data, IngestOptions(max_pixels=1000))
    assert "240x200" in str(info.value)
