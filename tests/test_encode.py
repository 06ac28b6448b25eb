"""The baseline encoder copes with output larger than Pillow's optimize buffer guess."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFile

from pjstore.render.encode import encode


def test_noisy_full_chroma_at_quality_100_encodes():
    noise = np.random.default_rng(0).integers(0, 256, (188, 250, 3), dtype=np.uint8)
    before = ImageFile.MAXBLOCK
    data = encode(Image.fromarray(noise), 100, subsampling="4:4:4")
    assert len(data) > 2 * 250 * 188  # beyond what Pillow sizes the buffer for
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (250, 188) and im.layer[0][1:3] == (1, 1)
    assert ImageFile.MAXBLOCK == before
