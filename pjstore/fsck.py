"""Store checking and repair: every listed image complete and verifiable, no orphan data.

An image verifies when its blob has the recorded size and SHA-256, parses as the recorded number
of scans, and every recorded offset is a scan-complete prefix that meets its threshold: under the
served contract, the rendition its recipe makes (rendered, then decoded) scores at least the
threshold and has the recorded length; under the prefix contract, the decoded prefix does.
The reference is the whole stored file: being lossless, it decodes to the source's pixels.

The refinement queue is checked too: every provisional record has an entry that a refiner can still
take (not given up after its attempts), and every entry names a provisional record (a stale one is
left by an image deleted or searched around a crash). Repair queues the first afresh and drops the second.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace

from pjstore import offset_map
from pjstore.encoder.structure import parse
from pjstore.errors import CorruptJpeg, NotFound, PjstoreError
from pjstore.ingest import as_uploaded
from pjstore.migrate import chosen_alike, upgraded
from pjstore.quality.contract import Reference, decode_prefix
from pjstore.record import ImageRecord
from pjstore.refine_queue import QueueEntry
from pjstore.render.decode import closed_prefix
from pjstore.render.pipeline import make_rendition
from pjstore.rendition.quality_search import grader
from pjstore.storage.lmdb_store import LmdbStorage


@dataclass(frozen=True)
class Problem:
    image_id: str
    kind: str  # orphan-blob | missing-blob | corrupt | bad-offsets | stale-queue-entry | unqueued
    detail: str
    repaired: bool = False


@dataclass(frozen=True)
class FsckReport:
    checked: int
    problems: tuple[Problem, ...]
    queued: tuple[QueueEntry, ...] = ()  # provisional images waiting for their search, after any repair

    @property
    def clean(self) -> bool:
        return all(p.repaired for p in self.problems)


def verify(record: ImageRecord, blob: bytes) -> Problem | None:
    """Check one image against its record; None when it verifies."""
    if len(blob) != record.stored_bytes or hashlib.sha256(blob).hexdigest() != record.stored_sha256:
        return Problem(record.id, "corrupt", f"stored file differs from its record ({len(blob)} bytes)")
    if record.damaged:  # stored as uploaded: no scans to check, but it must still decode and serve
        try:
            return _served_problem(record, blob)
        except PjstoreError as exc:
            return Problem(record.id, "corrupt", f"damaged file stored as uploaded no longer decodes: {exc}")
    try:
        structure = parse(blob)
    except PjstoreError as exc:
        return Problem(record.id, "corrupt", f"stored file does not parse: {exc}")
    if len(structure.scans) != record.scans:
        return Problem(record.id, "corrupt", f"{len(structure.scans)} scans, record says {record.scans}")
    cuts = set(structure.scan_ends) | {len(blob)}
    for entry in record.offsets.entries:
        if entry.offset not in cuts:
            return Problem(record.id, "bad-offsets",
                           f"offset {entry.offset} of scale {entry.scale:g} is not a scan end")
    check = _served_problem if record.contract == "served" else _prefix_problem
    return check(record, blob)


def _prefix_problem(record: ImageRecord, blob: bytes) -> Problem | None:
    reference = Reference.from_source(blob, record.target)
    for entry, threshold in zip(record.offsets.entries, record.thresholds, strict=False):  # not scale 1
        score = reference.score(decode_prefix(blob, entry.offset), entry.scale)
        if score < threshold:
            return Problem(record.id, "bad-offsets", f"scale {entry.scale:g} reaches {score:.2f} < {threshold:g}")
    return None


def _served_problem(record: ImageRecord, blob: bytes) -> Problem | None:
    """Render every row as the read path would and grade what it sends."""
    references: dict[str, Reference] = {}
    for entry, threshold in zip(record.offsets.entries, (*record.thresholds, record.thresholds[-1]), strict=True):
        colour = entry.recipe.colour
        if colour not in references:
            references[colour] = Reference.served(blob, record.target, colour)
        size = (entry.width, entry.height)
        prefix = closed_prefix(blob, entry.offset)
        grade = grader(references[colour], size, record.orientation)
        # JPEG, then each stored format's encoding of the same pixels
        for name, encoding, recorded, promised in [("", None, entry.score, entry.served_bytes),
                                                   *((f" as {f.encoding.format}", f.encoding, f.score, f.served_bytes)
                                                     for f in entry.formats)]:
            data, _ = make_rendition(prefix, entry.recipe, size, record.orientation, encoding)
            score = grade(data)
            if score < threshold and score < recorded - 1e-3:  # a best-effort row keeps its recorded score
                return Problem(record.id, "bad-offsets",
                               f"scale {entry.scale:g}{name} serves {score:.2f} < {threshold:g}")
            if len(data) != promised:
                return Problem(record.id, "bad-offsets",
                               f"scale {entry.scale:g}{name} serves {len(data)} bytes, record says {promised}")
    return None


def remeasured(record: ImageRecord, blob: bytes) -> ImageRecord:
    """The record with offsets (and recipes) measured afresh from the (intact) stored file."""
    if record.damaged:
        again = as_uploaded(blob, chosen_alike(record), CorruptJpeg(record.warnings[0]))
        return replace(record, offsets=again.record.offsets)
    if record.contract == "served":
        return upgraded(record, blob, chosen_alike(record))
    structure = parse(blob)
    offsets = offset_map.measure(blob, structure.scan_ends, Reference.from_source(blob, record.target))
    return replace(record, offsets=offsets)


def fsck(store: LmdbStorage, repair: bool = False) -> FsckReport:
    problems: list[Problem] = []
    for image_id in store.orphan_blobs():
        if repair:
            store.remove_blob(image_id)
        problems.append(Problem(image_id, "orphan-blob", "blob without a record", repair))
    ids = store.list()
    records = {}
    for image_id in ids:
        record = records[image_id] = store.info(image_id)
        try:
            blob = store.get_range(image_id, 0, record.stored_bytes)
        except NotFound:
            if repair:
                store.delete(image_id)
            problems.append(Problem(image_id, "missing-blob", "record without a stored file", repair))
            continue
        problem = verify(record, blob)
        if problem is None:
            continue
        fixable = problem.kind == "bad-offsets"
        if repair and fixable:
            store.replace_record(remeasured(record, blob))
        problems.append(Problem(problem.image_id, problem.kind, problem.detail, repair and fixable))
    problems += _queue_problems(store, records, repair)
    return FsckReport(len(ids), tuple(problems), tuple(store.queued()))


def _queue_problems(store: LmdbStorage, records: dict[str, ImageRecord], repair: bool) -> list[Problem]:
    now = time.time()
    entries = {e.image_id: e for e in store.queued()}
    problems = []
    for image_id in entries:
        record = records.get(image_id)
        if record is None or not record.provisional:
            if repair:
                store.dequeue(image_id)
            why = "no such image" if record is None else "its image was already searched"
            problems.append(Problem(image_id, "stale-queue-entry", f"queued refinement, but {why}", repair))
    for image_id, record in records.items():
        entry = entries.get(image_id)
        if record.provisional and (entry is None or entry.given_up(now)):
            if repair:
                store.enqueue(image_id, now)
            why = "has no queue entry" if entry is None else f"was given up after {entry.attempts} attempts"
            problems.append(Problem(image_id, "unqueued", f"provisional record whose search {why}", repair))
    return problems
