"""Provisional recipes: what an upload is served with until its queued recipe search has run.

Every scale reads the whole stored file, decoded no coarser than twice the served size, and is
served at a high quality with full chroma: it costs egress and render time, never quality. Each
row is verified once as the search verifies its choices (rendered by the read path, decoded and
graded against the reference with the contract's own score), so a provisional record is never
served below its promise; a row that misses its threshold so is tried decoded at full size at
quality 100, and one that misses it even then keeps its best score (the search's best effort).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image

from pjstore.offset_map import OffsetMap, ScaleOffset, rounded
from pjstore.quality.contract import QualityTarget, Reference
from pjstore.render import pipeline
from pjstore.render.colour import CONVERTS, reference_colour
from pjstore.rendition.choose import Look, grader
from pjstore.rendition.recipe import Recipe, draft_for

# On 6 hires photos (1.9-15 MP) quality 90 at 4:4:4 served 35.5-48.8 dB at every scale where the
# default target asks 32: a margin the verification confirms (and falls back from where it fails).
QUALITY = 90
SUBSAMPLING = "4:4:4"
THREADS = 2


@dataclass(frozen=True)
class Early:
    """The reference made before the stored file exists (while jpegtran writes it), from the
    source's decode, which the lossless file decodes to: `provisional_offsets` checks that it does."""

    decoded: Image.Image
    reference: Reference

    @classmethod
    def of(cls, source: bytes, target: QualityTarget, colour: str) -> Early | None:
        """None where `colour` converts: `source` is the upload without its metadata, and the
        conversion needs the profile the stored file keeps."""
        if colour in CONVERTS:
            return None
        decoded = pipeline.decoded(source, Recipe(), (1, 1))
        reference = Reference(reference_colour(decoded, colour), target)
        for scale in target.scales:
            reference.at(reference.size(scale))
        return cls(decoded, reference)


def provisional_offsets(stored: bytes, target: QualityTarget, look: Look, early: Early | None = None) -> OffsetMap:
    """Every scale's provisional row (full size last, at the last scale's threshold), each verified.

    The whole file is decoded once: its pixels are the reference's (in the served colour space; the
    `early` one where they are its source's pixels exactly) and what every full-size decode of a
    rendition starts from. The scales are verified in THREADS threads, largest first: decoding,
    resizing and encoding release the GIL, and the upload waits."""
    whole = pipeline.decoded(stored, Recipe(), (1, 1))
    if early is not None and np.array_equal(np.asarray(whole), np.asarray(early.decoded)):
        reference = early.reference
    else:
        reference = Reference(reference_colour(whole, look.colour), target)
    wanted = [(1.0, target.thresholds[-1]), *reversed(tuple(zip(target.scales, target.thresholds, strict=True)))]
    with ThreadPoolExecutor(THREADS, thread_name_prefix="pjstore-provisional") as pool:
        rows = list(pool.map(lambda st: _row(stored, whole, reference, look, *st), wanted))
    return OffsetMap(target.metric, tuple(reversed(rows)))


def _row(stored: bytes, whole: Image.Image, reference: Reference, look: Look, scale: float,
         threshold: float) -> ScaleOffset:
    size = reference.size(scale)
    grade = grader(reference, size, look.orientation)
    tried = []
    for draft, quality in ((draft_for((reference.width, reference.height), size), QUALITY), (1, 100)):
        recipe = Recipe(draft=draft, quality=quality, subsampling=SUBSAMPLING, colour=look.colour)
        # make_rendition's steps, the full decode shared (decoding is deterministic)
        decoded = whole if draft == 1 else pipeline.decoded(stored, recipe, size)
        image, icc = pipeline.pixels(decoded, recipe, size, look.orientation)
        data = pipeline.encode_pixels(image, recipe, icc)
        tried.append((grade(data), len(data), recipe))
        if tried[-1][0] >= threshold:
            break
    score, served, recipe = tried[-1] if tried[-1][0] >= threshold else max(tried, key=lambda t: t[0])
    return ScaleOffset(scale, *size, len(stored), rounded(score), recipe, served)
