"""The read path end to end: a stored image and a requested size in, a baseline JPEG out.

`make_rendition` is the only code that makes a rendition: the server, the CLI and the write path's
recipe search (`pjstore.rendition.choose`) all call it, the search through its parts
(`decoded`, `coloured`, `finished`, then `encode_pixels`), so what a record promises is what is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from pjstore import ids
from pjstore.errors import StaleRecord
from pjstore.read_path import select
from pjstore.read_path.colour import CONVERT, to_served
from pjstore.read_path.decode import decode
from pjstore.read_path.encode import encode
from pjstore.read_path.orient import orient
from pjstore.read_path.prefix import read_prefix
from pjstore.read_path.restore import restore
from pjstore.read_path.scale import scale as resize
from pjstore.record import ImageRecord
from pjstore.rendition import formats
from pjstore.rendition.formats import Encoding
from pjstore.rendition.recipe import Recipe
from pjstore.storage import Storage


@dataclass(frozen=True)
class Rendition:
    data: bytes  # a baseline JPEG, or WebP/AVIF where `encoding` says
    width: int  # served (upright) size
    height: int
    bytes_read: int  # stored bytes read to make it (the scale's offset)
    scale: float  # the stored scale it was made from
    recipe: Recipe  # what made it
    encoding: Encoding | None = None  # WebP/AVIF encoding of the recipe's pixels (None: JPEG)

    @property
    def format(self) -> str:
        return "jpeg" if self.encoding is None else self.encoding.format


def render(store: Storage, image_id: str, *, scale: float | None = None, width: int | None = None,
           height: int | None = None, format: str = "jpeg") -> Rendition:
    """Serve `image_id` at a stored `scale`, or at an upright `width` or `height`, as `format`."""
    for again in (False, True):
        record = store.info(ids.validate(image_id))
        chosen = select.by_scale(record, scale) if scale is not None else select.by_size(record, width, height)
        try:
            return render_selection(store, record, select.in_format(record, chosen, format))
        except StaleRecord:  # refined between the two reads: the new record describes the new file
            if again:
                raise
    raise AssertionError("unreachable")


def render_selection(store: Storage, record: ImageRecord, chosen: select.Selection) -> Rendition:
    """Serve a selection already made from `record` (the server has both before it renders)."""
    prefix = read_prefix(store, record, chosen.entry.offset)
    data, (w, h) = make_rendition(prefix, chosen.recipe, chosen.size, record.orientation, chosen.encoding)
    return Rendition(data, w, h, chosen.entry.offset, chosen.entry.scale, chosen.recipe, chosen.encoding)


def make_rendition(jpeg: bytes, recipe: Recipe, size: tuple[int, int], orientation: int = 1,
              encoding: Encoding | None = None) -> tuple[bytes, tuple[int, int]]:
    """The serving work on bytes already read (no storage): the encoded rendition and its upright size."""
    image, icc = pixels(decoded(jpeg, recipe, size), recipe, size, orientation)
    return encode_pixels(image, recipe, icc, encoding), image.size


def decoded(jpeg: bytes, recipe: Recipe, size: tuple[int, int]) -> Image.Image:
    """Step 3: the prefix decoded as the recipe says (a draft too coarse for `size` is not used)."""
    return decode(jpeg, recipe.draft, size)


def pixels(image: Image.Image, recipe: Recipe, size: tuple[int, int],
           orientation: int = 1) -> tuple[Image.Image, bytes | None]:
    """Steps 4-7 on a decoded image: colour, resize, restore, orient; and the profile to attach."""
    image, icc = coloured(image, recipe, recipe.restore.at(size) if recipe.restore else size)
    return finished(image, recipe, size, orientation), icc


def coloured(image: Image.Image, recipe: Recipe, size: tuple[int, int]) -> tuple[Image.Image, bytes | None]:
    """Steps 4-5: colour and resize to `size` (colour after the resize where the recipe says so);
    and the profile to attach, if any."""
    if recipe.colour == CONVERT:
        return to_served(resize(image, size, recipe.reducing_gap), recipe.colour)
    image, icc = to_served(image, recipe.colour)
    return resize(image, size, recipe.reducing_gap), icc


def finished(image: Image.Image, recipe: Recipe, size: tuple[int, int], orientation: int = 1) -> Image.Image:
    """Steps 6-7 on the coloured, resized image: the recipe's restoration (resized to `size` after,
    where it ran at its own: Restoration.at), then orientation."""
    if recipe.restore is not None:
        image = resize(restore(image, recipe.restore), size)
    return orient(image, orientation)


def encode_pixels(image: Image.Image, recipe: Recipe, icc: bytes | None, encoding: Encoding | None = None) -> bytes:
    """Step 8: a baseline JPEG as the recipe says, or WebP/AVIF as `encoding` says."""
    if encoding is not None:
        return formats.encode(image, encoding, icc)
    return encode(image, recipe.quality, icc, recipe.subsampling)
