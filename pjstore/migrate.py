"""Upgrade a store in place: served-contract recipes for records written under the prefix contract
(0.1.0's records, read as version 1, or `ingest --contract prefix`) or chosen by an older recipe
search (`ImageRecord.recipe_search`: version 2-3 records, before restoration filters).

Each image is upgraded on its own: its recipes are searched on the stored file (which decodes to
the source's pixels: the transcode is lossless) and its record replaced in one atomic write, so an
interrupted run loses nothing and a rerun skips every record already current.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from pjstore import offset_map
from pjstore.encoder import metadata
from pjstore.encoder.structure import parse
from pjstore.errors import PjstoreError
from pjstore.ingest import IngestOptions, served
from pjstore.quality.contract import Reference
from pjstore.record import ImageRecord
from pjstore.render.colour import KEEP
from pjstore.rendition.choose import DEFAULT_EGRESS
from pjstore.rendition.recipe import SEARCH_GENERATION
from pjstore.storage import Storage


@dataclass(frozen=True)
class MigrateReport:
    checked: int
    upgraded: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]  # (id, why)


def upgraded(record: ImageRecord, blob: bytes, options: IngestOptions = IngestOptions()) -> ImageRecord:
    """`record` with served-contract rows for its stored file `blob` (same thresholds and scales),
    chosen by today's recipe search."""
    structure = parse(blob)
    kept = metadata.extract(blob, structure)
    grey = structure.color_space == "GRAY"
    cuts = record.offsets
    if record.contract == "served":
        # The search starts from the prefix contract's cuts, which served rows lie at or beyond:
        # found again by decoding, walking back from them.
        hints = record.offsets.scan_indices(structure.scan_ends)
        cuts = offset_map.measure(blob, structure.scan_ends, Reference.from_source(blob, record.target), hints)
    offsets = served(blob, cuts, record.target, kept, grey, options)[options.egress]
    return replace(record, offsets=offsets, contract="served", egress=options.egress,
                   recipe_search=SEARCH_GENERATION)


def chosen_alike(record: ImageRecord) -> IngestOptions:
    """The write-time choices `record`'s served rows were made with, as far as it tells them: its
    egress policy, formats and profile handling (the defaults where it does not)."""
    rows = record.offsets.entries
    return IngestOptions(target=record.target, egress=record.egress or DEFAULT_EGRESS,
                         formats=tuple(f.encoding.format for f in rows[0].formats),
                         keep_profile=any(e.recipe.colour == KEEP for e in rows), accept_damaged=record.damaged)


def for_record(record: ImageRecord, options: IngestOptions) -> IngestOptions:
    """The choices to upgrade `record` with: a served-contract record keeps its own (egress policy,
    profile handling) and gains `options`' formats; any other takes `options`."""
    if record.contract != "served":
        return options
    alike = chosen_alike(record)
    return replace(alike, formats=tuple(dict.fromkeys(alike.formats + options.formats)))


def migrate(store: Storage, options: IngestOptions = IngestOptions(),
            done: Callable[[str, bool], None] | None = None) -> MigrateReport:
    """Upgrade every record not yet current; `done(id, upgraded)` after each image."""
    ids = store.list()
    changed: list[str] = []
    failed: list[tuple[str, str]] = []
    for image_id in ids:
        try:
            record = store.info(image_id)
            if record.current(options.formats):
                if done:
                    done(image_id, False)
                continue
            blob = store.get_range(image_id, 0, record.stored_bytes)
            store.replace_record(upgraded(record, blob, for_record(record, options)))
        except PjstoreError as exc:  # one bad image must not stop the rest
            failed.append((image_id, f"{type(exc).__name__}: {exc}"))
            continue
        changed.append(image_id)
        if done:
            done(image_id, True)
    return MigrateReport(len(ids), tuple(changed), tuple(failed))
