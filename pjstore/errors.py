"""Typed errors. Everything pjstore rejects is a `PjstoreError` naming the problem.

The subclasses map one-to-one onto what a user must do differently, which is also what the
HTTP layer maps onto status codes.
"""


class PjstoreError(Exception):
    """Base class: a clear, user-facing reason something was refused."""


class InvalidInput(PjstoreError):
    """The input is not something pjstore can store (base for bad uploads)."""


class EmptyInput(InvalidInput):
    """Zero bytes."""


class NotAJpeg(InvalidInput):
    """The bytes are not a JPEG stream (e.g. a PNG or text with a .jpg name)."""


class TruncatedJpeg(InvalidInput):
    """The stream ends before the image data is complete."""


class CorruptJpeg(InvalidInput):
    """The stream is structurally broken or its entropy-coded data is damaged."""


class UnsupportedJpeg(InvalidInput):
    """A valid JPEG of a kind pjstore does not store (lossless, hierarchical, 12-bit...)."""


class TooLarge(InvalidInput):
    """The image exceeds a configured limit (pixels or bytes)."""


class InvalidScanScript(PjstoreError):
    """A scan script that breaks the progression rules or jpegtran's limits."""


class NotFound(PjstoreError):
    """No image with that id in the store."""


class InvalidRequest(PjstoreError):
    """A read request that cannot be served (bad scale, size or id)."""


class ToolError(PjstoreError):
    """An external tool (jpegtran) is missing, too old, timed out or failed unexpectedly."""


class StorageError(PjstoreError):
    """The store cannot be opened, read or written (missing, read-only, full, unreachable)."""


class StaleRecord(StorageError):
    """A read asked for the stored file a record describes, and a refinement has replaced that file
    since the record was read: read the record again."""


class ConfigError(PjstoreError, ValueError):
    """A setting or option with a value pjstore cannot run with (a ValueError too, as dataclass
    validation has always raised)."""


class MetadataWarning(UserWarning):
    """Metadata repaired or dropped at ingest: the image was stored, this part of it was not, or
    not as sent. Never raised: recorded in the image's record (`warnings`) by `line()`."""

    def line(self) -> str:
        return f"{type(self).__name__}: {self}"


class IccRepaired(MetadataWarning):
    """The ICC profile's chunks were out of order; the profile was reassembled by sequence number."""


class IccDropped(MetadataWarning):
    """The ICC profile was malformed (chunk sequence, declared size) or over the size limit."""


class ExifDropped(MetadataWarning):
    """The EXIF block could not be read, so its orientation was not kept (the image is stored as coded)."""


class CorruptRecord(PjstoreError):
    """A stored record that cannot be read: garbled, missing fields, or from a newer pjstore."""
