"""jpegli as a rendition encoder: chosen where it serves fewer bytes at the target, rendered at the
exact size and meeting the target when decoded (graded against helpers.served_reference),
reproducible byte for byte; records that name no encoder keep libjpeg-turbo, bad names are refused."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from pjstore.errors import CorruptRecord
from pjstore.ingest import IngestOptions, prepare
from pjstore.quality.contract import QualityTarget
from pjstore.quality.ssimulacra2 import score
from pjstore.record import ImageRecord
from pjstore.render import pipeline
from pjstore.render.decode import EOI
from pjstore.render.encode import JPEGLI, LIBJPEG_TURBO, encode
from pjstore.rendition.recipe import Recipe

from helpers import assert_served_jpeg, open_image, served_psnr, served_reference, upright_size


def rendered(record: ImageRecord, stored: bytes, entry) -> bytes:
    prefix = stored if entry.offset == len(stored) else stored[:entry.offset] + EOI
    return pipeline.make_rendition(prefix, entry.recipe, (entry.width, entry.height), record.orientation)[0]


@pytest.fixture(scope="module")
def perceptual(kinds):
    """A colour photo ingested for SSIMULACRA 2 >= 70: full size is served by jpegli (fewer bytes)."""
    source = kinds["420_q75"]
    prepared = prepare(source, IngestOptions(target=QualityTarget.uniform(threshold=70.0, metric="ssimulacra2")))
    return source, prepared.record, prepared.blob


def test_the_search_chooses_jpegli_where_it_serves_fewer_bytes_and_it_meets_the_target(perceptual):
    source, record, stored = perceptual
    chosen = [e for e in record.offsets.entries if e.recipe.encoder == JPEGLI]
    assert chosen, "jpegli serves this photo's full size in fewer bytes at 70"
    for entry in chosen:
        data = rendered(record, stored, entry)
        got = assert_served_jpeg(data, upright_size(record, entry))
        assert len(data) == entry.served_bytes, "the record promises what is sent, byte for byte"
        want = served_reference(source, (entry.width, entry.height)).astype(np.uint8)
        assert score(want, np.asarray(got.convert("RGB"))) >= 70.0
        # What the walk found with libjpeg-turbo at this prefix served more: the same pixels at the
        # jpegli recipe's quality, or lower, by libjpeg-turbo miss the target or are larger.
        turbo = replace(entry.recipe, encoder=LIBJPEG_TURBO)
        for subsampling in ("4:4:4", "4:2:0"):
            for q in range(1, 101):
                other = rendered(record, stored, replace(entry, recipe=replace(turbo, quality=q,
                                                                               subsampling=subsampling)))
                if score(want, np.asarray(open_image(other).convert("RGB"))) >= 70.0:
                    assert len(other) > len(data)
                    break


@pytest.mark.parametrize("kind", ["oriented_6", "tiny_7x5", "extreme_1000x3", "cmyk", "gray", "wide_icc"])
def test_a_jpegli_recipe_renders_at_exactly_the_size_it_names(kinds, kind):
    """Every stored scale's recipe (its prefix, decode, colour, restoration), encoded by jpegli at
    quality 95: the exact upright size, a baseline JPEG, the pixels near the PSNR target's."""
    source = kinds[kind]
    prepared = prepare(source)
    record, stored = prepared.record, prepared.blob
    for entry in record.offsets.entries:
        recipe = replace(entry.recipe, encoder=JPEGLI, subsampling="4:2:0", quality=95)
        data = rendered(record, stored, replace(entry, recipe=recipe))
        assert_served_jpeg(data, upright_size(record, entry))
        if min(entry.width, entry.height) >= 32:  # 4:2:0 chroma of a few blocks is mostly edge
            assert served_psnr(source, data, entry.scale) >= 31.0


def test_jpegli_output_is_the_same_bytes_in_a_fresh_process():
    """ETags name a rendition by its recipe: the same recipe must give the same bytes in any run."""
    from skimage import data as samples

    image = Image.fromarray(samples.astronaut()[::2, ::2])
    here = hashlib.sha256(encode(image, 70, encoder=JPEGLI)).hexdigest()
    code = ("import sys, hashlib; from skimage import data; from PIL import Image; "
            "from pjstore.render.encode import encode; "
            "im = Image.fromarray(data.astronaut()[::2, ::2]); "
            "print(hashlib.sha256(encode(im, 70, encoder='jpegli')).hexdigest())")
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert fresh.stdout.strip() == here
    assert hashlib.sha256(encode(image, 70, encoder=JPEGLI)).hexdigest() == here


@pytest.mark.parametrize("copies", [1, 200])  # 200: over 64 KB, split across APP2 segments
def test_jpegli_renditions_carry_the_profile_a_recipe_keeps(copies):
    from helpers import wide_icc

    icc = wide_icc() * copies
    data = encode(Image.new("RGB", (40, 30), (200, 40, 90)), 80, icc, encoder=JPEGLI)
    with Image.open(io.BytesIO(data)) as im:
        assert im.info["icc_profile"] == icc and im.size == (40, 30)


def test_records_naming_no_encoder_load_as_libjpeg_turbo_and_render_as_before(kinds):
    prepared = prepare(kinds["gray"])  # greyscale: never jpegli
    record, stored = prepared.record, prepared.blob
    doc = json.loads(record.dumps())
    for row in doc["scales"]:
        assert row["recipe"].pop("encoder") == LIBJPEG_TURBO
    old = ImageRecord.loads(json.dumps(doc).encode())
    assert old == record
    for entry in old.offsets.entries:
        prefix = stored if entry.offset == len(stored) else stored[:entry.offset] + EOI
        image, _ = pipeline.pixels(pipeline.decoded(prefix, entry.recipe, (entry.width, entry.height)),
                                   entry.recipe, (entry.width, entry.height), old.orientation)
        out = io.BytesIO()  # libjpeg-turbo through Pillow, as every rendition was before jpegli
        image.save(out, "JPEG", quality=entry.recipe.quality, optimize=True, progressive=False)
        assert rendered(old, stored, entry) == out.getvalue()


@pytest.mark.parametrize("recipe", [{"encoder": "mozjpeg"}, {"encoder": 7}, {"encoder": None},
                                    {"encoder": "jpegli", "subsampling": "4:4:4"}])
def test_records_with_a_bad_encoder_are_a_typed_error(kinds, recipe):
    doc = json.loads(prepare(kinds["420_q75"]).record.dumps())
    doc["scales"][0]["recipe"].update(recipe)
    with pytest.raises(CorruptRecord):
        ImageRecord.loads(json.dumps(doc).encode())


def test_recipes_name_their_encoder_and_round_trip():
    r = Recipe(quality=60, subsampling="4:2:0", encoder=JPEGLI)
    assert Recipe.from_json(r.to_json()) == r
    with pytest.raises(ValueError, match="encoder"):
        Recipe(encoder="libjpeg")
    with pytest.raises(ValueError, match="4:2:0 only"):
        Recipe(encoder=JPEGLI, subsampling="4:4:4")
