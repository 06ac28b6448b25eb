"""Figure 10: the compute cost of serving a scale from a progressive prefix, and its alternatives.

Server side, each producing the same thing (an exact-size baseline JPEG at 0.1.0's read
path quality, 85): pjstore's read path on the prefix and on the whole baseline source, each with and
without libjpeg's DCT-domain downscaling (Pillow `draft`), and libvips' thumbnail of the source
(shrink-on-load, the fast path of a typical dynamic resizer). Client side (the prefix sent to the
browser as is): decoding the prefix against decoding the static baseline's pre-resized copy.
Orientation is left out of every variant alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial

from pjstore.encoder.pillow_open import open_jpeg
from pjstore.evaluation.tables import TimingRow
from pjstore.evaluation.timing import median_seconds
from pjstore.quality.sizes import target_size
from pjstore.render.decode import decode
from pjstore.render.pipeline import make_rendition
from pjstore.rendition.recipe import LEGACY, draft_for

try:
    import pyvips

    VIPS_ERROR = None
except (ImportError, OSError) as exc:  # no wheel for this platform, or libvips missing
    pyvips = None
    VIPS_ERROR = f"{type(exc).__name__}: {exc}"

SERVER = ("server_prefix", "server_prefix_dct", "server_source", "server_source_dct", "server_vips")
CLIENT = ("client_prefix", "client_static")
VARIANTS = SERVER + CLIENT


def vips_version() -> str | None:
    return None if pyvips is None else ".".join(str(pyvips.version(i)) for i in range(3))


def _vips_thumbnail(source: bytes, size: tuple[int, int]) -> bytes:
    thumb = pyvips.Image.thumbnail_buffer(source, size[0], height=size[1], size="force", no_rotate=True)
    return thumb.write_to_buffer(".jpg", Q=LEGACY.quality, optimize_coding=True)


def measure(image: str, source: bytes, prefix_scheme: str, prefixes: dict[float, bytes],
            static_copies: dict[float, bytes], repeats: int, budget_s: float) -> tuple[TimingRow, ...]:
    """Per scale of `prefixes` (the bytes `prefix_scheme` reads for it), median seconds of every variant."""
    if pyvips is not None:
        # One libvips thread, like Pillow, so the ratios compare work rather than cores; no
        # operation cache, or every repeat after the first would be a cache hit.
        pyvips.concurrency_set(1)
        pyvips.cache_set_max(0)
    with open_jpeg(source) as im:
        width, height = im.size
    rows = []
    for scale, prefix in prefixes.items():
        size = target_size(width, height, scale)
        dct = replace(LEGACY, draft=draft_for((width, height), size))  # 0.1.0's read path, DCT-scaled
        calls: dict[str, Callable[[], object]] = {
            "server_prefix": partial(make_rendition, prefix, LEGACY, size),
            "server_prefix_dct": partial(make_rendition, prefix, dct, size),
            "server_source": partial(make_rendition, source, LEGACY, size),
            "server_source_dct": partial(make_rendition, source, dct, size),
            "client_prefix": partial(decode, prefix),
            "client_static": partial(decode, static_copies[scale]),
        }
        if pyvips is not None:
            calls["server_vips"] = partial(_vips_thumbnail, source, size)
        seconds = median_seconds(calls, repeats, budget_s)
        rows.append(TimingRow(image, scale, prefix_scheme, {v: seconds.get(v) for v in VARIANTS}))
    return tuple(rows)
