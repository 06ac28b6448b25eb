"""The S3-compatible backend: one object per stored file, its record with it.

Layout under `s3://BUCKET/PREFIX/`:
  <id>                  the stored progressive file; its record in the object's metadata when it
                        fits S3's 2 KB user-metadata limit (always, for the default three scales)
  <id>.<nonce>.json     the record, only when it does not fit; the file's metadata names this key

The file object is the commit point. It is written last, once, with `If-None-Match: *`, so an id
is never overwritten and two writers racing on one id cannot both win. A spilled record is
written before its file under a key unique to that write: ListObjectsV2 does not return metadata,
so a file written before its record could not be told apart from a committed one without a HEAD
per key; this way everything listed is complete, and a crash leaves at most an unreferenced
`.json` that nothing lists or reads.

A scaled read is an HTTP Range request for exactly the prefix bytes. Endpoint, credentials and
region come from the usual AWS settings (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_REGION, ...,
profiles) unless given as client options. Every S3 or connection failure leaves as a
StorageError naming the bucket; a store opened read-only refuses to write.
"""

from __future__ import annotations

import functools
import re
import uuid
from urllib.parse import urlparse

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from pjstore.errors import ConfigError, NotFound, StorageError
from pjstore.record import ImageRecord

RECORD_META = "pjstore-record"  # the record itself (JSON)
RECORD_KEY_META = "pjstore-record-key"  # or the key of the sibling object holding it
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
        if len(RECORD_META) + len(raw) <= METADATA_LIMIT:
            return {RECORD_META: raw}, None
        sibling = f"{self._key(record.id)}.{uuid.uuid4().hex}.json"
        self._s3.put_object(Bucket=self.bucket, Key=sibling, Body=raw.encode(), ContentType="application/json")
        return {RECORD_KEY_META: sibling}, sibling

    @_mapped
    def put(self, record: ImageRecord, blob: bytes) -> bool:
        self._writable()
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
    def get_range(self, image_id: str, start: int, stop: int) -> bytes:
        if stop <= start:
            if not self.exists(image_id):
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
            return body.read()

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


def _not_found(exc: ClientError, image_id: str) -> Exception:
    if _code(exc) in ("404", "NoSuchKey", "NotFound"):
        return NotFound(f"no image {image_id}")
    return exc
