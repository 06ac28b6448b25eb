"""The whole stored image as handed out by `/original` and `export`: a file any browser decodes.

A Huffman-coded store hands out its stored bytes, and a byte range reads just that range. An
arithmetic-coded one (`--entropy arithmetic`) hands out the Huffman-coded file with the same scans,
coefficients and metadata, made by jpegtran from the whole stored file on each request: exactly the
file a Huffman store would hold, so its prefix cut after a scan decodes to the same pixels as the
stored prefix cut after that scan (at another byte offset). A damaged upload (stored as uploaded,
since jpegtran refuses it) is handed out with its metadata cut down as a transcode's is, so no GPS
or camera data leaves the store; its entropy data as it came.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pjstore.encoder import metadata
from pjstore.encoder.structure import parse
from pjstore.encoder.transcode import recoded
from pjstore.read_path.prefix import read_range
from pjstore.record import ImageRecord
from pjstore.storage import Storage
from tools.jpegtran_wrapper import Jpegtran


@dataclass(frozen=True)
class HandedOut:
    """The file handed out: its length, a reader of [start, stop) and the stored bytes that reads."""

    length: int
    read: Callable[[int, int], bytes]
    stored_read: Callable[[int, int], int]


def handed_out(store: Storage, record: ImageRecord, jpegtran: Jpegtran | None = None) -> HandedOut:
    """What `/original` and `export` send for `record` (read lazily where it is the stored file)."""
    if record.entropy == "huffman" and not record.damaged:
        return HandedOut(record.stored_bytes, lambda a, b: read_range(store, record, a, b), lambda a, b: b - a)
    stored = read_range(store, record, 0, record.stored_bytes)
    data = private_stripped(stored) if record.damaged else recoded(stored, "huffman", jpegtran or Jpegtran.find()).data
    return HandedOut(len(data), lambda a, b: data[a:b], lambda a, b: record.stored_bytes)


def private_stripped(data: bytes) -> bytes:
    """`data` with only the metadata pjstore keeps (orientation, ICC profile), by its markers alone."""
    header = parse(data, header_only=True, max_app_segments=len(data))  # stored: already within its limits
    bare = metadata.without_metadata(data, header)
    return metadata.insert(bare, parse(bare, header_only=True), metadata.segments(metadata.extract(data, header)))
