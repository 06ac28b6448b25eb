"""ImageRecord: everything pjstore knows about a stored image besides its bytes.

Two documents come from a record: the stored one (`dumps`/`loads`), versioned as {"v": N, ...} and
read by keyword, with a migration from every earlier version; and the API one (`to_json`), what
`pjstore info` and the HTTP info show. Version 1 is 0.1.0's format (no "v" key): offsets by the
prefix contract, served with the legacy recipe (quality 85); its records keep being served so.
Version 3 added `entropy` (version 2 files are Huffman-coded) and `egress` (unknown before);
version 4, recipes with a restoration filter (`restore`; none before), so a pjstore that would
serve them without it refuses them instead, and `recipe_search`, the generation of the search that
chose them (1 before), so `pjstore migrate` re-chooses older ones; version 5, `provisional` (none
before): an upload stored with provisional recipes (pjstore.rendition.provisional) whose search is
queued (pjstore.refine), so a pjstore that would take it for a searched record refuses it instead.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from pjstore.encoder.transcode import ENTROPIES
from pjstore.errors import CorruptRecord
from pjstore.offset_map import OffsetMap
from pjstore.quality.contract import QualityTarget
from pjstore.rendition.recipe import LEGACY, SEARCH_GENERATION

VERSION = 5
AS_UPLOADED = "as-uploaded"  # the scheme of a damaged image, stored without transcoding
CONTRACTS = ("served", "prefix")
_ID = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ImageRecord:
    id: str
    width: int  # stored (pre-orientation) pixel axes
    height: int
    color_space: str
    orientation: int
    source_bytes: int
    stored_bytes: int
    scheme: str
    scans: int
    thresholds: tuple[float, ...]
    offsets: OffsetMap
    stored_sha256: str  # of the stored file, so corruption is detectable (fsck)
    contract: str = "served"  # what each scale's score is of: the served file, or the decoded prefix
    warnings: tuple[str, ...] = ()  # what ingest noticed but accepted (e.g. unreadable metadata)
    # Stored as uploaded (`ingest --accept-damaged`): libjpeg decodes it only with warnings, so it is
    # not transcoded and every scale reads the whole file.
    damaged: bool = False
    entropy: str = "huffman"  # the stored file's coding: "arithmetic" ones are handed out as Huffman
    # The egress policy the served rows were chosen under, so a repair chooses them alike
    # (None: the prefix contract, or chosen before version 3).
    egress: float | None = None
    # The recipe search generation that chose the served rows (rendition.recipe.SEARCH_GENERATION).
    recipe_search: int = SEARCH_GENERATION
    # Served with provisional recipes (every scale the whole file, at a high quality, verified) until
    # the queued search replaces file and record (pjstore.refine).
    provisional: bool = False

    def __post_init__(self) -> None:
        def bad(why: str) -> ValueError:
            return ValueError(f"invalid record {self.id!r}: {why}")

        if not isinstance(self.id, str) or not _ID.fullmatch(self.id):
            raise bad("id is not 64 hex digits")
        ints = (self.width, self.height, self.orientation, self.source_bytes, self.stored_bytes, self.scans)
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in ints):
            raise bad("sizes, orientation and counts must be integers")
        if min(self.width, self.height, self.source_bytes, self.stored_bytes, self.scans) < 1:
            raise bad("sizes and counts must be positive")
        if not 1 <= self.orientation <= 8:
            raise bad(f"orientation {self.orientation} outside 1..8")
        if self.contract not in CONTRACTS:
            raise bad(f"contract {self.contract!r} is not one of {CONTRACTS}")
        if not isinstance(self.offsets, OffsetMap):
            raise bad("offsets must be an OffsetMap")
        if len(self.thresholds) != len(self.offsets.entries) - 1:
            raise bad("one threshold per scale below 1.0")
        if not all(isinstance(t, (int, float)) and math.isfinite(t) for t in self.thresholds):
            raise bad("thresholds must be finite numbers")
        if any(e.offset > self.stored_bytes for e in self.offsets.entries) or \
                (self.contract == "prefix" and self.offsets.entries[-1].offset != self.stored_bytes):
            raise bad("offsets must lie within the stored file (the prefix contract's last: all of it)")
        if not all(isinstance(w, str) for w in self.warnings):
            raise bad("warnings must be strings")
        if self.egress is not None and not (isinstance(self.egress, (int, float)) and math.isfinite(self.egress)
                                            and self.egress >= 1):
            raise bad(f"egress {self.egress!r} is not a number >= 1")
        if self.entropy not in ENTROPIES:
            raise bad(f"entropy {self.entropy!r} is not one of {ENTROPIES}")
        if not (isinstance(self.recipe_search, int) and not isinstance(self.recipe_search, bool)
                and 1 <= self.recipe_search <= SEARCH_GENERATION):
            raise bad(f"recipe_search {self.recipe_search!r} is not a generation in 1..{SEARCH_GENERATION}")
        if not isinstance(self.damaged, bool) or not isinstance(self.provisional, bool):
            raise bad("damaged and provisional must be true or false")
        if self.provisional and (self.damaged or self.contract != "served"):
            raise bad("a provisional record is an undamaged upload under the served contract")
        if self.damaged and (self.stored_bytes != self.source_bytes or self.scheme != AS_UPLOADED
                             or any(e.offset != self.stored_bytes for e in self.offsets.entries)):
            raise bad(f"a damaged image is stored {AS_UPLOADED!r}, every scale reading the whole file")

    @property
    def target(self) -> QualityTarget:
        """The quality target the offsets were measured against."""
        return QualityTarget(self.offsets.scales[:-1], self.thresholds, self.offsets.metric)

    def to_json(self) -> dict:
        """The `pjstore info` / HTTP info document."""
        return {
            "id": self.id,
            "width": self.width,
            "height": self.height,
            "color_space": self.color_space,
            "orientation": self.orientation,
            "source_bytes": self.source_bytes,
            "stored_bytes": self.stored_bytes,
            "scheme": self.scheme,
            "scans": self.scans,
            "contract": self.contract,
            "metric": self.offsets.metric,
            "thresholds": list(self.thresholds),
            "scales": self.offsets.to_json(),
            "stored_sha256": self.stored_sha256,
            "warnings": list(self.warnings),
            "damaged": self.damaged,
            "entropy": self.entropy,
            "egress": self.egress,
            "recipe_search": self.recipe_search,
            "provisional": self.provisional,
        }

    def dumps(self) -> bytes:
        """The stored document (current version)."""
        return json.dumps({"v": VERSION, **_stored(self)}, separators=(",", ":")).encode()

    @classmethod
    def loads(cls, raw: bytes | memoryview) -> ImageRecord:
        """A stored record of any version; CorruptRecord when it cannot be read."""
        try:
            d = json.loads(bytes(raw))
            if not isinstance(d, dict):
                raise ValueError("not a JSON object")
            version = d.get("v", 1)
            if version not in _READERS:
                raise CorruptRecord(f"record version {version!r} is not one this pjstore reads "
                                    f"(1..{VERSION}); written by a newer pjstore?")
            return _READERS[version](d)
        except CorruptRecord:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # JSONDecodeError is a ValueError
            raise CorruptRecord(f"stored record cannot be read: {type(exc).__name__}: {exc}") from None

    def current(self, formats: tuple[str, ...] = ()) -> bool:
        """Whether the record has recipes chosen for the served contract by the newest recipe search
        (a damaged image's read the whole file either way) and a setting for each of `formats` at
        every scale: nothing to migrate. Rows gained `formats` without a version change: a reader by
        keyword that predates them serves JPEG and ignores the key. A provisional record is left to
        its queued search, which chooses with the server's options."""
        if self.provisional:
            return True
        newest = self.damaged or self.recipe_search == SEARCH_GENERATION
        return self.contract == "served" and newest and all(e.format(f) for e in self.offsets.entries for f in formats)


def _stored(r: ImageRecord) -> dict:
    return {
        "id": r.id, "width": r.width, "height": r.height, "color_space": r.color_space,
        "orientation": r.orientation, "source_bytes": r.source_bytes, "stored_bytes": r.stored_bytes,
        "scheme": r.scheme, "scans": r.scans, "contract": r.contract, "metric": r.offsets.metric,
        "thresholds": list(r.thresholds), "scales": r.offsets.to_json(), "stored_sha256": r.stored_sha256,
        "warnings": list(r.warnings), "damaged": r.damaged, "entropy": r.entropy,
        "egress": r.egress, "recipe_search": r.recipe_search, "provisional": r.provisional,
    }


def _common(d: dict) -> dict:
    return {k: d[k] for k in ("id", "width", "height", "color_space", "orientation", "source_bytes",
                              "stored_bytes", "scheme", "scans", "stored_sha256")}


def _v5(d: dict) -> ImageRecord:
    return ImageRecord(**_common(d), thresholds=tuple(d["thresholds"]),
                       offsets=OffsetMap.from_json(d["metric"], d["scales"]), contract=d["contract"],
                       warnings=tuple(d["warnings"]), damaged=d["damaged"], entropy=d["entropy"],
                       egress=d["egress"], recipe_search=d["recipe_search"], provisional=d["provisional"])


def _v4(d: dict) -> ImageRecord:
    """Before provisional records: every record searched."""
    return _v5({**d, "provisional": False})


def _v3(d: dict) -> ImageRecord:
    """Before restoration filters: recipes without `restore`, chosen by the first recipe search."""
    return _v4({**d, "recipe_search": 1})


def _v2(d: dict) -> ImageRecord:
    """Before entropy and egress were recorded: every stored file Huffman-coded."""
    return _v3({"damaged": False, **d, "entropy": "huffman", "egress": None})


def _v1(d: dict) -> ImageRecord:
    """0.1.0: rows without recipes (served at quality 85, the legacy recipe), prefix contract."""
    rows = [{k: v for k, v in row.items() if k != "recipe"} | {"recipe": LEGACY.to_json()} for row in d["scales"]]
    return ImageRecord(**_common(d), thresholds=tuple(d["thresholds"]),
                       offsets=OffsetMap.from_json(d["metric"], rows), contract="prefix", recipe_search=1)


_READERS = {1: _v1, 2: _v2, 3: _v3, 4: _v4, 5: _v5}
