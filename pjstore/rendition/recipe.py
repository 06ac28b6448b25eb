"""The rendition recipe: how one stored scale's prefix becomes the baseline JPEG a user receives.

A recipe is chosen at write time (`pjstore.rendition.choose`) by running the render core
(`pjstore.render`) on candidate prefixes, kept in the record, and followed exactly by every read.
"""

from __future__ import annotations

from dataclasses import dataclass

from pjstore.render.encode import ENCODERS, JPEGLI, JPEGLI_SUBSAMPLING, LIBJPEG_TURBO
from pjstore.rendition.restoration import Restoration

# The recipe search's generation, kept in each record it chooses, so `pjstore migrate` can re-choose
# what an older one chose: 1, before restoration filters (records up to version 3); 2, with them.
SEARCH_GENERATION = 2
DRAFTS = (1, 2, 4, 8)  # libjpeg's DCT-domain scale denominators (1: full decode)
SUBSAMPLINGS = ("4:4:4", "4:2:2", "4:2:0")
# none: pixels as decoded, no profile (the source has none, or one equivalent to sRGB);
# convert: ICC transform from the source's profile to sRGB of the decoded image, then the resize;
# convert_resized: the same transform of the resized image (what ingest chooses now: the transform
#   runs on the served pixels only, up to 100x fewer at 10%; records made with "convert" keep it);
# keep: pixels as decoded, the source's profile attached.
COLOURS = ("none", "convert", "convert_resized", "keep")


@dataclass(frozen=True)
class Recipe:
    draft: int = 1
    reducing_gap: float | None = None  # Pillow's resize(reducing_gap=...): integer reduce first
    quality: int = 85
    subsampling: str = "4:2:0"  # ignored for greyscale
    colour: str = "none"
    restore: Restoration | None = None  # a filter fit to the reference, applied after the resize
    encoder: str = LIBJPEG_TURBO  # pjstore.render.encode.ENCODERS

    def __post_init__(self) -> None:
        if self.draft not in DRAFTS:
            raise ValueError(f"draft must be one of {DRAFTS}, not {self.draft!r}")
        if self.reducing_gap is not None and not (isinstance(self.reducing_gap, (int, float))
                                                  and self.reducing_gap >= 1.0):
            raise ValueError(f"reducing_gap must be None or >= 1, not {self.reducing_gap!r}")
        if not (isinstance(self.quality, int) and 1 <= self.quality <= 100):
            raise ValueError(f"quality must be 1..100, not {self.quality!r}")
        if self.subsampling not in SUBSAMPLINGS:
            raise ValueError(f"subsampling must be one of {SUBSAMPLINGS}, not {self.subsampling!r}")
        if self.colour not in COLOURS:
            raise ValueError(f"colour must be one of {COLOURS}, not {self.colour!r}")
        if self.restore is not None and not isinstance(self.restore, Restoration):
            raise ValueError(f"restore must be a Restoration or None, not {self.restore!r}")
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, not {self.encoder!r}")
        if self.encoder == JPEGLI and self.subsampling != JPEGLI_SUBSAMPLING:
            raise ValueError(f"jpegli writes {JPEGLI_SUBSAMPLING} only, not {self.subsampling}")

    def to_json(self) -> dict:
        return {"draft": self.draft, "reducing_gap": self.reducing_gap, "quality": self.quality,
                "subsampling": self.subsampling, "colour": self.colour,
                "restore": None if self.restore is None else self.restore.to_json(), "encoder": self.encoder}

    @classmethod
    def from_json(cls, d: dict) -> Recipe:
        """Rows before record version 4 have no `restore` (none); rows chosen before jpegli, no
        `encoder` (libjpeg-turbo)."""
        restore = d.get("restore")
        return cls(draft=d["draft"], reducing_gap=d["reducing_gap"], quality=d["quality"],
                   subsampling=d["subsampling"], colour=d["colour"],
                   restore=None if restore is None else Restoration.from_json(restore),
                   encoder=d.get("encoder", LIBJPEG_TURBO))


# What 0.1.0 served for every scale: a full decode, LANCZOS, quality 85, 4:2:0, the profile copied.
LEGACY = Recipe(quality=85, subsampling="4:2:0", colour="keep")


def draft_for(stored: tuple[int, int], size: tuple[int, int], oversample: int = 2) -> int:
    """The largest DCT scale denominator whose decode is still `oversample` times `size` on each axis."""
    best = 1
    for d in DRAFTS[1:]:
        if all(-(-s // d) >= oversample * t for s, t in zip(stored, size, strict=True)):
            best = d
    return best
