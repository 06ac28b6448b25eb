"""The fast search's prediction of a rendition's quality search, from a sample of its pixels
(pjstore.rendition.sample): the sample's lowest passing quality, with the served pixels' own error
added to the encoder's where the metric is PSNR, and the bytes that quality would take whole.
Predictions only order and prune the search; what a record keeps is verified whole."""

from __future__ import annotations

import numpy as np
from PIL import Image

from pjstore.quality.contract import decode_rgb
from pjstore.quality.metrics import METRICS, mse, psnr_of
from pjstore.rendition import sample
from pjstore.rendition.quality_search import Encodings, lowest_quality
from pjstore.rendition.recipe import Recipe

SOS_MARKER = b"\xff\xda"  # a baseline JPEG's entropy-coded data follows its one start-of-scan


class SampledSearch:
    """A recipe's quality search run first on a sample of large served pixels (pjstore.rendition.sample):
    its answers are the whole search's first guesses, so that search gallops a few encodes from
    there instead of bisecting 1..100 at full size."""

    def __init__(self, pixels: np.ndarray, want: np.ndarray, share: float, recipe: Recipe,
                 profile_bytes: int, metric: str):
        self.image, self.share = Image.fromarray(pixels), share
        self.profile_bytes, score = profile_bytes, METRICS[metric]
        # Encoded without the profile: it is not part of what scales with the area (`bytes` adds it once).
        self.encodings = Encodings(self.image, None, recipe,
                                   lambda data: score(want, sample.inner(np.asarray(decode_rgb(data)))))

    @classmethod
    def of(cls, served: Image.Image, want: np.ndarray | None, recipe: Recipe, icc: bytes | None,
           metric: str) -> SampledSearch | None:
        """The sample's search of `served`, given the reference's sample `want` (edges of tiles left
        out: `ScaleSearch.sampled_want`, None where a sample would not save work)."""
        if want is None:
            return None
        pixels = sample.mosaic(np.asarray(served))
        if pixels is None:
            return None
        share = served.width * served.height / (pixels.shape[0] * pixels.shape[1])
        return cls(pixels, want, share, recipe, len(icc or b""), metric)

    def quality(self, threshold: float, guess: int | None = None, own_mse: float | None = None) -> int | None:
        """The sample's lowest quality meeting `threshold` (edges of tiles left out), searched from `guess`.

        With `own_mse` (PSNR only: the served pixels' own squared error against the reference,
        measured on the whole image) the sample gives only the encoder's error on these pixels,
        and the two are added (errors add, roughly: MSE_served ~ MSE_pixels + MSE_encode), so the
        pixels' own share is exact, not a sample's (on a prefix near the threshold a sample of a
        few tiles misjudged it by up to 8 qualities)."""
        own = None if own_mse is None else sample.inner(np.asarray(self.image.convert("RGB")))

        def score(q: int) -> float:
            if own is None or own_mse is None:
                return self.encodings.graded(q).score
            return psnr_of(own_mse + mse(own, sample.inner(np.asarray(decode_rgb(self.encodings.data(q))))))

        found = lowest_quality(score, lambda s: s >= threshold, guess)
        return None if found is None else found[0]

    def bytes(self, q: int) -> float:
        """The whole image's bytes at quality `q` as the sample predicts them: its entropy-coded
        data scaled by area, its headers (tables: 0.6 KB, a tenth of a small rendition) once."""
        data = self.encodings.data(q)
        headers = data.find(SOS_MARKER)
        return self.share * (len(data) - headers) + headers + self.profile_bytes

    def over(self, budget: float) -> int | None:
        """The lowest quality whose bytes, the sample's scaled to the whole image, exceed `budget`."""
        found = lowest_quality(self.bytes, lambda n: n > budget)
        return None if found is None else found[0]
