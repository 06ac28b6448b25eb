"""What a viewer sees: one image's renditions at every scale, beside what other schemes send.

The image is ingested with pjstore's defaults into a temporary store and every stored scale
(1.0 too) is served through the read path (`pjstore.read_path.serve.render`). Beside each
rendition, at the same upright size:
  static     static copies under the same target (pjstore.evaluation.static_copies: the smallest
             libjpeg-turbo baseline JPEG of the contract reference meeting it); at 1.0 the search
             runs at full size, as a static scheme storing a re-encoded original would;
  vips_q80   libvips `thumbnail_buffer` of the whole source, auto-rotated, saved at Q 80 with
             optimised Huffman tables and no metadata (imgproxy's defaults), converted to sRGB
             where pjstore's recipe converts;
  smallest70 the smallest libjpeg-turbo JPEG of the reference scoring SSIMULACRA 2 >= 70 (the
             issue's "bytes vs the smallest JPEG scoring 70").
Every file is decoded and scored upright against the contract reference (the source in the served
colour space, LANCZOS-resized, made upright) with SSIMULACRA 2 and PSNR. Copies carry no ICC
profile, as pjstore's default renditions carry none (they convert, or the profile is sRGB's).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

import numpy as np
from PIL import Image

from pjstore.evaluation.static_copies import smallest
from pjstore.ingest import ingest
from pjstore.quality.contract import QualityTarget, Reference, decode_rgb
from pjstore.quality.metrics import psnr, ssimulacra2
from pjstore.read_path.serve import render
from pjstore.render.colour import CONVERTS, reference_colour
from pjstore.render.decode import decode
from pjstore.render.orient import orient
from pjstore.storage.lmdb_store import LmdbStorage

SCHEMES = ("pjstore", "static", "vips_q80", "smallest70")
VIPS_QUALITY = 80  # imgproxy's default IMGPROXY_QUALITY
HIGH = 70.0  # SSIMULACRA 2's "high quality": artifacts not noticed without the original


@dataclass(frozen=True)
class LookRow:
    image: str
    scale: float
    scheme: str  # one of SCHEMES
    width: int  # served, upright
    height: int
    bytes: int
    ssimulacra2: float
    psnr: float
    quality: int  # JPEG quality of the file
    subsampling: str
    meets: bool  # static and smallest70: False when quality 100 still misses their target


@dataclass(frozen=True)
class Crops:
    """The same 1:1 region of the reference and of each scheme's decoded file, at one scale."""

    scale: float
    box: tuple[int, int, int, int]  # left, top, right, bottom in the upright rendition
    size: tuple[int, int]  # the whole rendition's, upright
    reference: np.ndarray
    schemes: dict[str, np.ndarray]  # scheme -> crop, HxWx3 uint8


def measure(image: str, source: bytes, crop: int | None = None) -> tuple[list[LookRow], list[Crops]]:
    """Every scheme at every scale of `source`; with `crop`, also `crop`-pixel squares (or the
    whole rendition where it is smaller) of each from its most detailed region."""
    with tempfile.TemporaryDirectory(prefix="pjstore-look-") as tmp, LmdbStorage(tmp) as store:
        record, _ = ingest(store, source)
        renditions = [render(store, record.id, scale=s) for s in record.offsets.scales]
    colour = renditions[0].recipe.colour
    served = reference_colour(decode(source), colour)
    references = {"static": Reference(served, record.target),
                  "smallest70": Reference(served, QualityTarget.uniform(metric="ssimulacra2", threshold=HIGH))}
    thresholds = {"static": (*record.thresholds, record.thresholds[-1]), "smallest70": (HIGH,) * len(renditions)}
    guesses: dict[str, int | None] = {"static": None, "smallest70": None}
    rows: list[LookRow] = []
    crops: list[Crops] = []
    for index, r in enumerate(renditions):
        size = (r.width, r.height)
        want = np.asarray(orient(Image.fromarray(references["static"].at(_stored(size, record.orientation))),
                                 record.orientation))
        files = {"pjstore": (r.data, r.recipe.quality, r.recipe.subsampling, True),
                 "vips_q80": (vips(source, size, colour in CONVERTS), VIPS_QUALITY, "4:2:0", True)}
        for scheme in ("static", "smallest70"):
            copy = smallest(references[scheme], r.scale, thresholds[scheme][index], None, guesses[scheme])
            guesses[scheme] = copy.quality
            files[scheme] = (copy.data, copy.quality, copy.subsampling, copy.meets)
        decoded = {}
        for scheme in SCHEMES:
            data, quality, subsampling, meets = files[scheme]
            # Copies are made in stored axes; everything is graded (and shown) upright.
            got = decode_rgb(data) if scheme in ("pjstore", "vips_q80") else orient(decode_rgb(data),
                                                                                     record.orientation)
            decoded[scheme] = np.asarray(got)
            rows.append(LookRow(image, r.scale, scheme, r.width, r.height, len(data),
                                ssimulacra2(want, decoded[scheme]), psnr(want, decoded[scheme]),
                                quality, subsampling, meets))
        if crop:
            left, top = busiest(want, crop)
            box = (left, top, min(left + crop, size[0]), min(top + crop, size[1]))
            crops.append(Crops(r.scale, box, size, _cut(want, box),
                               {s: _cut(decoded[s], box) for s in SCHEMES}))
    return rows, crops


def vips(source: bytes, size: tuple[int, int], to_srgb: bool) -> bytes:
    """What imgproxy serves at `size` (upright) by default: libvips' thumbnail, Q 80."""
    import pyvips

    pyvips.cache_set_max(0)
    colour = {"export_profile": "srgb"} if to_srgb else {}
    thumb = pyvips.Image.thumbnail_buffer(source, size[0], height=size[1], size="force", **colour)
    return thumb.write_to_buffer(".jpg", Q=VIPS_QUALITY, optimize_coding=True, strip=True)


def busiest(rgb: np.ndarray, side: int) -> tuple[int, int]:
    """Top-left corner of the `side`-pixel square (clipped to the image) with the most detail: the
    largest sum of squared luma high-pass (luma minus its 3x3 mean), on an 8-pixel grid. Plain
    variance would pick the strongest edge (a horizon) over texture, where compression shows."""
    luma = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    h, w = luma.shape
    pad = np.pad(luma, 1, mode="edge")
    mean = sum(pad[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)) / 9.0
    energy = np.zeros((h + 1, w + 1))
    energy[1:, 1:] = ((luma - mean) ** 2).cumsum(0).cumsum(1)
    bw, bh = min(side, w), min(side, h)
    ys = np.arange(0, h - bh + 1, 8)
    xs = np.arange(0, w - bw + 1, 8)
    sums = (energy[ys[:, None] + bh, xs[None, :] + bw] - energy[ys[:, None], xs[None, :] + bw]
            - energy[ys[:, None] + bh, xs[None, :]] + energy[ys[:, None], xs[None, :]])
    y, x = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(xs[x]), int(ys[y])


def _cut(pixels: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    left, top, right, bottom = box
    return np.ascontiguousarray(pixels[top:bottom, left:right])


def _stored(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """An upright size in the stored file's axes (orientations 5-8 swap them)."""
    return (size[1], size[0]) if orientation >= 5 else size
