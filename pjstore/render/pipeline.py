"""Bytes + recipe -> rendition: a stored prefix (already read) made into what is served.

The steps in order: decode (with the recipe's draft) -> colour -> scale -> restore -> orient ->
encode, one module each in this package; it knows no storage and no record. `make_rendition` is
the only code that makes a rendition: the serving path (`pjstore.read_path.serve`), the CLI and the
write path's recipe search (`pjstore.rendition.choose`) all call it, the search through its parts
(`decoded`, `coloured`, `finished`, then `encode_pixels`), so what a record promises is what is sent.
"""

from __future__ import annotations

from PIL import Image

from pjstore.render.colour import CONVERT, to_served
from pjstore.render.decode import decode
from pjstore.render.encode import encode
from pjstore.render.orient import orient
from pjstore.render.restore import restore
from pjstore.render.scale import scale as resize
from pjstore.rendition import formats
from pjstore.rendition.formats import Encoding
from pjstore.rendition.recipe import Recipe


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
    return encode(image, recipe.quality, icc, recipe.subsampling, recipe.encoder)
