"""The real files of ../shared/corpus/edge behave as its MANIFEST.md says, and every file there has
a generated stand-in in edge_cases.py (so test_edge_cases.py covers its kind without ../shared).

Two tests, not one per file, so a clean clone skips only these two (set PJSTORE_SHARED to a
missing path to see it)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from pjstore.errors import CorruptJpeg, EmptyInput, NotAJpeg, TooLarge, TruncatedJpeg
from pjstore.ingest import IngestOptions, ingest, prepare
from pjstore.read_path.serve import render

from edge_cases import CASES
from helpers import (
    EDGE,
    assert_error,
    assert_lossless,
    assert_meets_its_contract,
    assert_served_jpeg,
    make_client,
    needs_shared,
    served_psnr,
    stored_ids,
    upload,
    upright_size,
)

pytestmark = [needs_shared, pytest.mark.corpus]

REFUSED = {"bomb_header_60000x60000": (TooLarge, 413), "corrupt_entropy_data": (CorruptJpeg, 422),
           "empty": (EmptyInput, 400), "png_named_jpg": (NotAJpeg, 415), "text_named_jpg": (NotAJpeg, 415),
           "truncated_60pct": (TruncatedJpeg, 422)}


def manifest() -> dict[str, str]:
    """File stem -> the manifest's expectation ("accept ..." or "reject ..."), patterns expanded."""
    rows = {}
    for line in (EDGE / "MANIFEST.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].endswith(".jpg"):
            continue
        for pattern in cells[0].split(" / "):
            for path in sorted(EDGE.glob(pattern)):
                rows[path.stem] = cells[2]
    return rows


def test_every_accepted_file_is_stored_losslessly_and_served_upright(store):
    rows = manifest()
    assert set(rows) == {p.stem for p in EDGE.glob("*.jpg")}, "every file has its manifest row"
    assert set(rows) <= {c.row for c in CASES.values()}, "every file has a generated stand-in"
    accepted = sorted(n for n, expected in rows.items() if expected.startswith("accept"))
    assert set(rows) - set(accepted) == set(REFUSED)
    target = IngestOptions().target
    for name in accepted:
        source = (EDGE / f"{name}.jpg").read_bytes()
        p = prepare(source)
        assert_lossless(source, p.blob)
        assert_meets_its_contract(source, p.blob, p.record, target)
        store.put(p.record, p.blob)
        for entry in p.record.offsets.entries:
            assert_served_jpeg(render(store, p.record.id, scale=entry.scale).data, upright_size(p.record, entry))
        if name.startswith("exif_orientation"):
            # Graded against the oracle's upright reference in sRGB (these photos carry other
            # profiles): the wrong way up is ~10000 MSE, about 8 dB.
            data = render(store, p.record.id, scale=0.25).data
            assert served_psnr(source, data, 0.25) >= 32, name
            served = Image.open(io.BytesIO(data))
            assert (served.width > served.height) == name.startswith("exif_orientation_landscape"), name
    record = store.info(next(i for i in store.list() if store.info(i).width == 1001))
    assert (record.offsets.entry(0.1).width, record.offsets.entry(0.1).height) == (100, 1)


def test_every_refused_file_is_refused_with_its_error_and_status(store, tmp_path):
    with make_client(tmp_path / "http") as client:
        for name, (error, status) in REFUSED.items():
            source = (EDGE / f"{name}.jpg").read_bytes()
            with pytest.raises(error) as info:
                ingest(store, source)
            assert str(info.value), name
            assert_error(upload(client, source), status, error.__name__)
        assert store.list() == [] and stored_ids(client) == []
        assert client.get("/healthz").status_code == 200
