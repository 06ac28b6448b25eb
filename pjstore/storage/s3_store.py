"""The S3-compatible backend: one object per stored file, its record with it.

Layout under `s3://BUCKET/PREFIX/`:
  <id>                  the stored progressive file; its record in the object's metadata when it
                        fits S3's 2 KB user-metadata limit (always, for the default three scales)
  <id>.<nonce>.json     the record, only when it does not fit; the file's metadata names this key
  queue/<id>            a provisional record's refinement queue entry (pjstore.refine_queue)

The file object is the commit point. It is written last, once, with `If-None-Match: *`, so an id
is never overwritten and two writers racing on one id cannot both win. A spilled record is
written before its file under a key unique to that write: ListObjectsV2 does not return metadata,
so a file written before its record could not be told apart from a committed one without a HEAD
per key; this way everything listed is complete, and a crash leaves at most an unreferenced
`.json` that nothing lists or reads.

The file object's metadata also carries the stored file's hash, so a range read naming the file it
wants (Storage.get_range's `stored_sha256`) checks it in the response that brings the bytes: S3 has
no transactions, but one object's body and metadata are one version. A refinement's swap
overwrites the file object with `If-Match` on the ETag it checked (so a concurrent delete or swap
wins, never a mix), then drops the queue entry; a queue entry is written just before its
provisional file object, so a crash leaves at most an entry the refiner finds stale and drops.
Entries are claimed and renewed by conditional writes too (`If-Match` on the entry's ETag).

A scaled read is an HTTP Range request for exactly the prefix bytes. Endpoint, credentials and
region come from the usual AWS settings (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_REGION, ...,
profiles) unless given as client options. Every S3 or connection failure leaves as a
StorageError naming the bucket; a store opened read-only refuses to write.
"""

from __future__ import annotations

import functools
import re
import time
import uuid
from urllib.parse import urlparse

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from pjstore.errors import ConfigError, NotFound, StaleRecord, StorageError
from pjstore.record import ImageRecord
from pjstore.refine_queue import QueueEntry

RECORD_META = "pjstore-record"  # the record itself (JSON)
RECORD_KEY_META = "pjstore-record-key"  # or the key of the sibling object holding it
SHA_META = "pjstore-sha256"  # the stored file's hash (files written before it: never swapped)
QUEUE = "queue/"
METADATA_LIMIT = 2048  # bytes of user metadata keys plus values S3 accepts per object
_ID = re.compile(r"[0-9a-f]{64}")


def _mapped(method):
    """S3's and botocore's errors (ClientError, EndpointConnectionError, NoCredentialsError...)
    as StorageError; pjstore's own (NotFound) pass through."""
    @functools.wraps(method)
    def call(self: S3Storage, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except ClientError as exc:
            raise StorageError(f"S3 bucket {self.bucket}: {_code(exc)}: {exc}") from None
        except BotoCoreError as exc:
            raise StorageError(f"S3 bucket {self.bucket}: {exc}") from None
    return call


class S3Storage:
    def __init__(self, bucket: str, prefix: str = "", client=None, readonly: bool = False, **client_options):
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.readonly = readonly
        try:
            self._s3 = client or boto3.session.Session().client("s3", **client_options)
        except (BotoCoreError, ValueError) as exc:  # e.g. a malformed endpoint URL or region
            raise StorageError(f"cannot make an S3 client for bucket {bucket}: {exc}") from None

    @classmethod
    def from_url(cls, url: str, readonly: bool = False, **client_options) -> S3Storage:
        """`s3://BUCKET` or `s3://BUCKET/PREFIX`."""
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ConfigError(f"expected s3://BUCKET/PREFIX, not {url!r}")
        return cls(parsed.netloc, parsed.path, readonly=readonly, **client_options)

    def _writable(self) -> None:
        if self.readonly:
            raise StorageError(f"S3 bucket {self.bucket} was opened read-only")

    def _key(self, image_id: str) -> str:
        return self.prefix + image_id

    def _record_metadata(self, record: ImageRecord) -> tuple[dict, str | None]:
        """The file object's metadata for `record`, spilling it to a new sibling object when too big."""
        raw = record.dumps().decode()
        sha = {SHA_META: record.stored_sha256}
        if len(RECORD_META) + len(raw) + len(SHA_META) + len(record.stored_sha256) <= METADATA_LIMIT:
            return {RECORD_META: raw, **sha}, None
        sibling = f"{self._key(record.id)}.{uuid.uuid4().hex}.json"
        self._s3.put_object(Bucket=self.bucket, Key=sibling, Body=raw.encode(), ContentType="application/json")
        return {RECORD_KEY_META: sibling, **sha}, sibling

    def _queue_key(self, image_id: str) -> str:
        return f"{self.prefix}{QUEUE}{image_id}"

    @_mapped
    def put(self, record: ImageRecord, blob: bytes) -> bool:
        self._writable()
        if record.provisional:  # before the commit point: a committed provisional file has its entry
            self._put_entry(QueueEntry(record.id, time.time()))
        metadata, sibling = self._record_metadata(record)
        try:
            self._s3.put_object(Bucket=self.bucket, Key=self._key(record.id), Body=blob, Metadata=metadata,
                                ContentType="image/jpeg", IfNoneMatch="*")
        except ClientError as exc:
            if _code(exc) not in ("PreconditionFailed", "412"):
                raise
            if sibling:  # ours alone, never referenced
                self._s3.delete_object(Bucket=self.bucket, Key=sibling)
            return False
        return True

    @_mapped
    def get_range(self, image_id: str, start: int, stop: int, stored_sha256: str | None = None) -> bytes:
        if stop <= start:
            if stored_sha256 is not None:
                _check(self._head(image_id), image_id, stored_sha256)
            elif not self.exists(image_id):
                raise NotFound(f"no image {image_id}")
            return b""
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=self._key(image_id),
                                           Range=f"bytes={start}-{stop - 1}")
        except ClientError as exc:
            if _code(exc) == "InvalidRange":  # start at or past the end: empty, as a slice would be
                return b""
            raise _not_found(exc, image_id) from None
        with response["Body"] as body:
            if stored_sha256 is not None:
                _check(response["Metadata"], image_id, stored_sha256)
            return body.read()

    @_mapped
    def swap(self, old: ImageRecord, record: ImageRecord, blob: bytes) -> bool:
        self._writable()
        try:
            head = self._s3.head_object(Bucket=self.bucket, Key=self._key(old.id))
        except ClientError as exc:
            if isinstance(_not_found(exc, old.id), NotFound):
                self.dequeue(old.id)
                return False
            raise
        if head["Metadata"].get(SHA_META) != old.stored_sha256:
            self.dequeue(old.id)
            return False
        metadata, sibling = self._record_metadata(record)
        try:
            self._s3.put_object(Bucket=self.bucket, Key=self._key(old.id), Body=blob, Metadata=metadata,
                                ContentType="image/jpeg", IfMatch=head["ETag"])
        except ClientError as exc:
            if sibling:
                self._s3.delete_object(Bucket=self.bucket, Key=sibling)
            if _code(exc) not in ("PreconditionFailed", "412", "NoSuchKey", "404"):
                raise
            self.dequeue(old.id)  # deleted or replaced meanwhile: that write wins
            return False
        if RECORD_KEY_META in head["Metadata"]:
            self._s3.delete_object(Bucket=self.bucket, Key=head["Metadata"][RECORD_KEY_META])
        self.dequeue(old.id)
        return True

    def _put_entry(self, entry: QueueEntry, etag: str | None = None) -> bool:
        """Write `entry`; with `etag`, only over that version of it (False when another write came first)."""
        condition = {} if etag is None else {"IfMatch": etag}
        try:
            self._s3.put_object(Bucket=self.bucket, Key=self._queue_key(entry.image_id), Body=entry.dumps(),
                                ContentType="application/json", **condition)
        except ClientError as exc:
            if etag is not None and _code(exc) in ("PreconditionFailed", "412", "NoSuchKey", "404"):
                return False
            raise
        return True

    def _entry(self, key: str) -> tuple[QueueEntry, str] | None:
        """The entry at `key` and its ETag; None if it is gone."""
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        with response["Body"] as body:
            return QueueEntry.loads(body.read()), response["ETag"]

    def _queue_keys(self, limit: int | None = None) -> list[str]:
        keys: list[str] = []
        pages = {"PageSize": 1000 if limit is None else min(1000, max(1, limit))}
        request = {"Bucket": self.bucket, "Prefix": self.prefix + QUEUE}
        for page in self._s3.get_paginator("list_objects_v2").paginate(**request, PaginationConfig=pages):
            keys += [obj["Key"] for obj in page.get("Contents", [])]
            if limit is not None and len(keys) >= limit:
                return keys[:limit]
        return keys

    @_mapped
    def queued(self) -> list[QueueEntry]:
        found = (self._entry(key) for key in self._queue_keys())
        return [entry for entry, _ in filter(None, found)]

    @_mapped
    def queue_depth(self, limit: int) -> int:
        return len(self._queue_keys(limit))

    @_mapped
    def enqueue(self, image_id: str, now: float) -> None:
        self._writable()
        self._put_entry(QueueEntry(image_id, now))

    @_mapped
    def claim(self, now: float, lease: float) -> QueueEntry | None:
        self._writable()
        found = sorted(filter(None, (self._entry(key) for key in self._queue_keys())), key=lambda f: f[0].enqueued)
        for entry, etag in found:
            if entry.claimable(now) and self._put_entry(claimed := entry.claimed(now, lease), etag):
                return claimed
        return None

    @_mapped
    def renew(self, entry: QueueEntry, now: float, lease: float) -> bool:
        self._writable()
        found = self._entry(self._queue_key(entry.image_id))
        if found is None or found[0].attempts != entry.attempts:
            return False
        return self._put_entry(entry.renewed(now, lease), found[1])

    @_mapped
    def dequeue(self, image_id: str) -> bool:
        self._writable()
        if self._entry(self._queue_key(image_id)) is None:
            return False
        self._s3.delete_object(Bucket=self.bucket, Key=self._queue_key(image_id))
        return True

    def _head(self, image_id: str) -> dict:
        try:
            return self._s3.head_object(Bucket=self.bucket, Key=self._key(image_id))["Metadata"]
        except ClientError as exc:
            raise _not_found(exc, image_id) from None

    @_mapped
    def info(self, image_id: str) -> ImageRecord:
        metadata = self._head(image_id)
        if RECORD_META in metadata:
            return ImageRecord.loads(metadata[RECORD_META].encode())
        body = self._s3.get_object(Bucket=self.bucket, Key=metadata[RECORD_KEY_META])["Body"]
        with body:
            return ImageRecord.loads(body.read())

    @_mapped
    def replace_record(self, record: ImageRecord) -> None:
        """A copy of the file object onto itself with new metadata: one atomic request, after which
        readers see the new record; an old spilled record is removed once nothing names it."""
        self._writable()
        old = self._head(record.id)
        metadata, sibling = self._record_metadata(record)
        key = self._key(record.id)
        try:
            self._s3.copy_object(Bucket=self.bucket, Key=key, CopySource={"Bucket": self.bucket, "Key": key},
                                 Metadata=metadata, MetadataDirective="REPLACE", ContentType="image/jpeg")
        except ClientError:
            if sibling:
                self._s3.delete_object(Bucket=self.bucket, Key=sibling)
            raise
        if RECORD_KEY_META in old:
            self._s3.delete_object(Bucket=self.bucket, Key=old[RECORD_KEY_META])

    @_mapped
    def exists(self, image_id: str) -> bool:
        try:
            self._head(image_id)
        except NotFound:
            return False
        return True

    @_mapped
    def delete(self, image_id: str) -> bool:
        self._writable()
        try:
            metadata = self._head(image_id)
        except NotFound:
            return False
        # The file first: once it is gone the image is gone, whatever happens to its record.
        self._s3.delete_object(Bucket=self.bucket, Key=self._key(image_id))
        if RECORD_KEY_META in metadata:
            self._s3.delete_object(Bucket=self.bucket, Key=metadata[RECORD_KEY_META])
        self._s3.delete_object(Bucket=self.bucket, Key=self._queue_key(image_id))  # none: a no-op
        return True

    @_mapped
    def list(self, after: str | None = None, limit: int | None = None) -> list[str]:
        ids: list[str] = []
        request = {"Bucket": self.bucket, "Prefix": self.prefix}
        if after:
            request["StartAfter"] = self._key(after)
        pages = {"PageSize": 1000 if limit is None else min(1000, max(1, limit))}
        for page in self._s3.get_paginator("list_objects_v2").paginate(**request, PaginationConfig=pages):
            for obj in page.get("Contents", []):
                name = obj["Key"][len(self.prefix):]
                if _ID.fullmatch(name):  # not a spilled record
                    ids.append(name)
                    if limit is not None and len(ids) >= limit:
                        return ids
        return ids

    def close(self) -> None:
        self._s3.close()

    def __enter__(self) -> S3Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _check(metadata: dict, image_id: str, stored_sha256: str) -> None:
    """StaleRecord unless the file object with `metadata` is the one hashed `stored_sha256`."""
    if metadata.get(SHA_META, stored_sha256) != stored_sha256:
        raise StaleRecord(f"image {image_id} was refined since its record was read")


def _not_found(exc: ClientError, image_id: str) -> Exception:
    if _code(exc) in ("404", "NoSuchKey", "NotFound"):
        return NotFound(f"no image {image_id}")
    return exc
