"""Media in an S3-compatible bucket (AWS, MinIO), so the API and workers on different
hosts share uploads without sharing a disk.

Uploads stage to a local temporary file while they are hashed and size-checked (the
key is the hash, unknown until the last byte), then go up with boto3's managed
transfer, which switches to multipart above its threshold. S3 makes an object visible
only once its upload completes, so a crash never leaves half an object under a key.
Objects are named ``media/<sha256>``; the storage key handed to callers stays
``ab/<sha256>`` as on local disk, so clip rows need no rewrite when storage moves.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as EndpointUnreachableError

from efir.config import Settings
from efir.errors import NotFoundError
from efir.media.storage.base import (
    StagedMedia,
    StorageUnavailableError,
    StoredMedia,
    media_key,
    missing_media,
    sha256_of_key,
    store_chunks,
)

__all__ = ["S3Storage"]

_OBJECT_PREFIX = "media/"
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
# The reader's buffer, and so the size of each read from the object's stream.
_READ_BUFFER_BYTES = 1 << 20


class S3Storage:
    """Media objects ``media/<sha256>`` in ``bucket``; local disk only for staging and copies."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        *,
        staging_dir: Path,
        copies_dir: Path,
        transfer: TransferConfig | None = None,
    ) -> None:
        self._client = client
        self._bucket = bucket
        self.staging_dir = staging_dir
        self._copies_dir = copies_dir
        self._transfer = transfer or TransferConfig()

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            # Path-style URLs: MinIO and most self-hosted stores have no per-bucket DNS.
            config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard"}),
        )
        return cls(
            client,
            settings.s3_bucket,
            staging_dir=settings.data_dir / "incoming",
            copies_dir=settings.cache_dir / "media-copies",
        )

    def stage(self, *, max_bytes: int) -> StagedMedia:
        return StagedMedia(self.staging_dir, max_bytes=max_bytes)

    def commit(self, staged: StagedMedia) -> StoredMedia:
        staged.close()
        sha256 = staged.sha256
        name = _object_name(sha256)
        if self._object_size(name) is None:  # same bytes already stored: skip the upload
            with _reachable():
                self._client.upload_file(
                    str(staged.path), self._bucket, name, Config=self._transfer
                )
        staged.discard()
        return StoredMedia(key=media_key(sha256), sha256=sha256, size_bytes=staged.size_bytes)

    def put_stream(self, chunks: Iterable[bytes], *, max_bytes: int) -> StoredMedia:
        return store_chunks(self, chunks, max_bytes=max_bytes)

    def open(self, key: str) -> BinaryIO:
        """A seekable reader; each seek-then-read is one ranged GET, not a download."""
        name = _object_name(sha256_of_key(key))
        size = self._object_size(name)
        if size is None:
            raise NotFoundError(f"media {key!r} is not in storage")
        raw = _ObjectReader(self._client, self._bucket, name, size)
        return io.BufferedReader(raw, buffer_size=_READ_BUFFER_BYTES)

    def path_for(self, key: str) -> Path | None:
        return None  # never on this disk: use local_copy

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        name = _object_name(sha256_of_key(key))
        self._copies_dir.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=self._copies_dir, suffix=".media")
        os.close(handle)
        path = Path(temp_name)
        try:
            try:
                with _reachable():
                    self._client.download_file(self._bucket, name, str(path), Config=self._transfer)
            except ClientError as error:
                if _is_not_found(error):
                    raise missing_media(key) from None
                raise
            yield path
        finally:
            path.unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        name = _object_name(sha256_of_key(key))
        with _reachable():
            self._client.delete_object(Bucket=self._bucket, Key=name)

    def check_bucket(self) -> dict[str, object]:
        """For the health endpoint: the bucket answers and these credentials may use it."""
        with _reachable():
            self._client.head_bucket(Bucket=self._bucket)
        return {"bucket": self._bucket, "endpoint": self._client.meta.endpoint_url}

    def keys(self) -> Iterator[str]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=_OBJECT_PREFIX
        )
        names = [item["Key"] for page in pages for item in page.get("Contents", ())]
        for name in sorted(names):
            yield media_key(name.removeprefix(_OBJECT_PREFIX))

    def _object_size(self, name: str) -> int | None:
        try:
            with _reachable():
                head = self._client.head_object(Bucket=self._bucket, Key=name)
        except ClientError as error:
            if _is_not_found(error):
                return None
            raise
        size: int = head["ContentLength"]
        return size


class _ObjectReader(io.RawIOBase):
    """An S3 object as a seekable raw file: reads stream one GET from the current offset."""

    def __init__(self, client: Any, bucket: str, name: str, size: int) -> None:
        self._client = client
        self._bucket = bucket
        self._name = name
        self._size = size
        self._position = 0
        self._body: Any = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        position = max(0, base + offset)
        if position != self._position:
            self._close_body()
            self._position = position
        return self._position

    def readinto(self, buffer: Any) -> int:
        if self._position >= self._size:
            return 0
        with _reachable():
            if self._body is None:
                response = self._client.get_object(
                    Bucket=self._bucket, Key=self._name, Range=f"bytes={self._position}-"
                )
                self._body = response["Body"]
            data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        self._close_body()
        super().close()

    def _close_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None


def _object_name(sha256: str) -> str:
    return f"{_OBJECT_PREFIX}{sha256}"


@contextmanager
def _reachable() -> Iterator[None]:
    """Network failures as StorageUnavailableError, which the worker retries."""
    try:
        yield
    except (EndpointUnreachableError, HTTPClientError) as error:
        raise StorageUnavailableError(f"S3 storage is unreachable: {error}") from error


def _is_not_found(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in _NOT_FOUND_CODES
