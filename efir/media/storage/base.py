"""Media storage behind one small interface: local disk here, S3 in ``efir.media.storage.s3``.

Media is content-addressed: the key is derived from the sha256 of the bytes, so a
clip uploaded twice is stored once, and an uploaded file name never becomes a path.
Uploads are staged to a temporary file in the storage's own directory while their
hash and size are computed, then renamed into place atomically: a crash leaves at
most a ``.part`` file, never a half-written media file under a real key.

Keys look the same in every backend (``ab/abcdef…``), so clip rows survive a move
from local disk to S3. Consumers that need a file (the decoder, the OCR) ask for
``local_copy``: the path itself on local disk, a temporary download from S3.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from efir.errors import MediaTooLargeError, NotFoundError, StorageFullError

__all__ = [
    "LocalStorage",
    "MediaStorage",
    "StagedMedia",
    "StorageUnavailableError",
    "StoredMedia",
    "file_chunks",
    "media_key",
    "missing_media",
    "require_free_space",
    "sha256_of_key",
    "store_chunks",
    "translate_disk_full",
]

_KEY_PATTERN = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}$")
_STAGING_SUFFIX = ".part"
_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class StorageUnavailableError(ConnectionError):
    """The media store did not answer (network, endpoint down): worth retrying later."""


@contextmanager
def translate_disk_full(on_full: Callable[[], None] | None = None) -> Iterator[None]:
    """Turn a write that found the disk (or the quota) full into ``StorageFullError``,
    after ``on_full`` has removed what the write had taken."""
    try:
        yield
    except OSError as error:
        if error.errno not in _DISK_FULL_ERRNOS:
            raise
        if on_full is not None:
            on_full()
        raise StorageFullError(
            "На диске сервера закончилось место; загрузка отменена. "
            "The server's disk is full; the upload was cancelled."
        ) from error


def require_free_space(directory: Path, size_bytes: int) -> None:
    """Refuse an upload of a declared size the disk cannot hold before writing any of it."""
    existing = next(path for path in (directory, *directory.parents) if path.exists())
    free_bytes = shutil.disk_usage(existing).free
    if size_bytes > free_bytes:
        raise StorageFullError(
            f"На диске сервера нет места для файла ({_human_size(size_bytes)}, свободно "
            f"{_human_size(free_bytes)}). The server's disk has no room for the file "
            f"({_human_size(size_bytes)}, {_human_size(free_bytes)} free)."
        )


@dataclass(frozen=True)
class StoredMedia:
    key: str
    sha256: str
    size_bytes: int


class StagedMedia:
    """An upload being written: hashed and size-checked chunk by chunk.

    Use as a context manager; leaving it without ``commit`` removes the temp file.
    """

    def __init__(self, directory: Path, *, max_bytes: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=directory, suffix=_STAGING_SUFFIX)
        self.path = Path(name)
        self._file: BinaryIO | None = os.fdopen(handle, "wb")
        self._hash = hashlib.sha256()
        self._max_bytes = max_bytes
        self.size_bytes = 0

    def write(self, chunk: bytes) -> None:
        if self._file is None:
            raise ValueError("staged media is closed")
        self.size_bytes += len(chunk)
        if self.size_bytes > self._max_bytes:
            self.discard()
            raise MediaTooLargeError(
                f"Файл больше допустимого размера ({_human_size(self._max_bytes)}). "
                f"The file is over the {_human_size(self._max_bytes)} upload limit."
            )
        # A full disk is freed at once: other uploads and the workers need it more.
        with translate_disk_full(on_full=self.discard):
            self._file.write(chunk)
        self._hash.update(chunk)

    def close(self) -> None:
        """Finish writing; the staged file stays in place for probing."""
        if self._file is not None:
            with translate_disk_full(on_full=self.discard):
                self._file.flush()
                os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def discard(self) -> None:
        if self._file is not None:
            # Closing flushes the buffer, which fails again on a full disk.
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> StagedMedia:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # After a commit the path has been renamed away, so this only removes leftovers.
        self.discard()


class MediaStorage(Protocol):
    """Where uploaded media lives. Keys are opaque strings made by the storage."""

    # Uploads are written here, on this machine's disk, whatever the backend.
    staging_dir: Path

    def stage(self, *, max_bytes: int) -> StagedMedia:
        """Start an upload; write chunks, close, optionally probe ``path``, then commit."""
        ...

    def commit(self, staged: StagedMedia) -> StoredMedia: ...

    def put_stream(self, chunks: Iterable[bytes], *, max_bytes: int) -> StoredMedia: ...

    def open(self, key: str) -> BinaryIO: ...

    def path_for(self, key: str) -> Path | None:
        """A local file path for ``key``, or None for storage that is not on this disk."""
        ...

    def local_copy(self, key: str) -> AbstractContextManager[Path]:
        """A file with the media's bytes on this machine, valid inside the ``with``."""
        ...

    def delete(self, key: str) -> None: ...


def store_chunks(storage: MediaStorage, chunks: Iterable[bytes], *, max_bytes: int) -> StoredMedia:
    """``put_stream`` for every backend: stage while hashing, then commit."""
    with storage.stage(max_bytes=max_bytes) as staged:
        for chunk in chunks:
            staged.write(chunk)
        return storage.commit(staged)


def media_key(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256}"


def sha256_of_key(key: str) -> str:
    """The hash a key names; anything else (``../x``, ``/etc``) is refused as not found."""
    if not _KEY_PATTERN.match(key):
        raise NotFoundError(f"not a media key: {key!r}")
    return key[3:]


def missing_media(key: str) -> NotFoundError:
    return NotFoundError(f"Медиафайл {key} отсутствует в хранилище. Media file missing.")


class LocalStorage:
    """Media files on local disk under ``root``: ``root/ab/abcdef….`` by sha256."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging_dir = root / "incoming"

    def stage(self, *, max_bytes: int) -> StagedMedia:
        return StagedMedia(self.staging_dir, max_bytes=max_bytes)

    def commit(self, staged: StagedMedia) -> StoredMedia:
        staged.close()
        sha256 = staged.sha256
        key = media_key(sha256)
        target = self._path(key)
        with translate_disk_full(on_full=staged.discard):
            target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            staged.discard()  # same bytes already stored
        else:
            os.replace(staged.path, target)
        return StoredMedia(key=key, sha256=sha256, size_bytes=staged.size_bytes)

    def put_stream(self, chunks: Iterable[bytes], *, max_bytes: int) -> StoredMedia:
        return store_chunks(self, chunks, max_bytes=max_bytes)

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise NotFoundError(f"media {key!r} is not in storage") from None

    def path_for(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.exists() else None

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self.path_for(key)
        if path is None:
            raise missing_media(key)
        yield path

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        for path in sorted(self.root.glob("??/*")):
            yield f"{path.parent.name}/{path.name}"

    def _path(self, key: str) -> Path:
        sha256_of_key(key)
        return self.root / key


def _human_size(size_bytes: int) -> str:
    if size_bytes < 1024**2:
        return f"{size_bytes} B"
    if size_bytes < 1024**3:
        return f"{size_bytes / 1024**2:.1f} MB"
    return f"{size_bytes / 1024**3:.1f} GB"


def file_chunks(path: Path, *, chunk_bytes: int = 1 << 20) -> Iterator[bytes]:
    """Read a local file in chunks, for ``put_stream`` from the CLI."""
    with path.open("rb") as source:
        while chunk := source.read(chunk_bytes):
            yield chunk
