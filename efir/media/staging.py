"""Resumable uploads: a clip sent in chunks that a dropped connection does not lose.

An upload is a ``<id>.part`` data file and a ``<id>.json`` record (file name, declared
size, form fields) in one directory. Each chunk is appended at the offset the client
names, which must equal the bytes already received: a connection dropped mid-chunk
keeps the bytes that arrived, and the client asks for the offset and continues from
there. The part file's length is the offset, so nothing else must be kept in step
with it. A finished upload keeps only its
record (with the job id), so a client whose last response was lost can still learn
the job. Uploads untouched for ``expire_after_s`` are deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

from efir.errors import EfirError, MediaTooLargeError, NotFoundError
from efir.media.storage.base import require_free_space, translate_disk_full

__all__ = [
    "PendingUpload",
    "ResumableUploads",
    "UploadOffsetError",
    "UploadRangeError",
    "UploadWriter",
]

_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
_READ_CHUNK_BYTES = 1 << 20


class UploadOffsetError(EfirError):
    """A chunk does not start where the upload stands (HTTP 409)."""


class UploadRangeError(EfirError):
    """A chunk's range lies outside the declared file (HTTP 416)."""


@dataclass
class PendingUpload:
    id: str
    filename: str
    size_bytes: int
    fields: dict[str, str] = field(default_factory=dict)
    offset: int = 0
    job_id: str | None = None

    @property
    def complete(self) -> bool:
        return self.offset == self.size_bytes


class UploadWriter:
    """Appends one request's chunk to the part file, holding an exclusive lock meanwhile.

    On a full disk the whole upload is discarded (``StorageFullError``): its part file
    would keep the disk full for every other upload and for the workers.
    """

    def __init__(
        self, file: BinaryIO, upload: PendingUpload, end: int, discard: Callable[[], None]
    ) -> None:
        self._file = file
        self._upload = upload
        self._end = end
        self._discard = discard

    def write(self, chunk: bytes) -> None:
        if self._upload.offset + len(chunk) > self._end:
            raise UploadRangeError(
                f"Фрагмент длиннее заявленного диапазона (до байта {self._end}). "
                f"The chunk is longer than its Content-Range (ends at byte {self._end})."
            )
        with translate_disk_full(on_full=self._abandon):
            self._file.write(chunk)
        self._upload.offset += len(chunk)

    def close(self) -> PendingUpload:
        if not self._file.closed:
            with translate_disk_full(on_full=self._abandon):
                self._file.flush()
                os.fsync(self._file.fileno())
            self._file.close()  # also releases the lock
        return self._upload

    def _abandon(self) -> None:
        with contextlib.suppress(OSError):  # the buffered bytes cannot be written anyway
            self._file.close()
        self._discard()


class ResumableUploads:
    def __init__(self, directory: Path, *, max_bytes: int, expire_after_s: float) -> None:
        self.directory = directory
        self._max_bytes = max_bytes
        self._expire_after_s = expire_after_s

    def create(self, *, filename: str, size_bytes: int, fields: dict[str, str]) -> PendingUpload:
        if size_bytes <= 0:
            raise UploadRangeError("Размер файла должен быть больше нуля. The size must be > 0.")
        if size_bytes > self._max_bytes:
            raise MediaTooLargeError(
                f"Файл больше допустимого размера ({self._max_bytes} байт). "
                f"The file is over the {self._max_bytes}-byte upload limit."
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.expire_stale()
        require_free_space(self.directory, size_bytes)
        upload = PendingUpload(secrets.token_hex(16), filename, size_bytes, dict(fields))
        with translate_disk_full(on_full=lambda: self.discard(upload.id)):
            self._data_path(upload.id).touch()
            self._save(upload)
        return upload

    def get(self, upload_id: str) -> PendingUpload:
        record = self._record_path(upload_id)
        try:
            upload = PendingUpload(**json.loads(record.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise NotFoundError(
                f"Загрузка {upload_id} не найдена или устарела. "
                f"Upload {upload_id} does not exist or has expired."
            ) from None
        if upload.job_id is not None:
            upload.offset = upload.size_bytes  # the bytes have gone on to media storage
        else:
            data = self._data_path(upload_id)
            upload.offset = data.stat().st_size if data.exists() else 0
        return upload

    def open_chunk(self, upload_id: str, *, start: int, end: int, total: int) -> UploadWriter:
        """A writer for bytes ``start``..``end`` (exclusive) of a ``total``-byte file."""
        upload = self.get(upload_id)
        if upload.job_id is not None:
            raise UploadOffsetError(
                f"Загрузка уже завершена (задание {upload.job_id}). "
                f"The upload is complete already (job {upload.job_id})."
            )
        if total != upload.size_bytes or not 0 <= start < end <= total:
            raise UploadRangeError(
                f"Диапазон {start}-{end - 1}/{total} вне файла из {upload.size_bytes} байт. "
                f"Range {start}-{end - 1}/{total} is outside the {upload.size_bytes}-byte file."
            )
        file = self._data_path(upload_id).open("ab")
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            raise UploadOffsetError(
                "Другой фрагмент этой загрузки ещё пишется. "
                "Another chunk of this upload is being written."
            ) from None
        upload.offset = file.seek(0, os.SEEK_END)
        if start != upload.offset:
            file.close()
            raise UploadOffsetError(
                f"Фрагмент начинается с байта {start}, а получено {upload.offset}; "
                f"продолжите с {upload.offset}. The chunk starts at byte {start} but the "
                f"upload is at {upload.offset}: continue from {upload.offset}."
            )
        return UploadWriter(file, upload, end, discard=lambda: self.discard(upload_id))

    def read(self, upload_id: str) -> Iterator[bytes]:
        with self._data_path(upload_id).open("rb") as file:
            while chunk := file.read(_READ_CHUNK_BYTES):
                yield chunk

    def finish(self, upload: PendingUpload, job_id: str) -> None:
        """Keep only the record, now naming the job; the bytes are in media storage."""
        upload.job_id = job_id
        self._save(upload)
        self._data_path(upload.id).unlink(missing_ok=True)

    def rewind(self, upload_id: str, offset: int) -> None:
        """Drop the bytes after ``offset``: the chunk that completed the upload is sent
        again, and finishes it, once the dependency that failed the finish is back."""
        os.truncate(self._data_path(upload_id), offset)

    def discard(self, upload_id: str) -> None:
        self._data_path(upload_id).unlink(missing_ok=True)
        self._record_path(upload_id).unlink(missing_ok=True)

    def expire_stale(self) -> list[str]:
        """Delete uploads (finished or not) untouched for ``expire_after_s``."""
        cutoff = time.time() - self._expire_after_s
        expired = []
        for record in self.directory.glob("*.json"):
            data = self._data_path(record.stem)
            try:
                touched = max(path.stat().st_mtime for path in (record, data) if path.exists())
            except (FileNotFoundError, ValueError):
                continue  # removed meanwhile by another request
            if touched < cutoff:
                self.discard(record.stem)
                expired.append(record.stem)
        return expired

    def _save(self, upload: PendingUpload) -> None:
        record = asdict(upload)
        del record["offset"]  # the part file's length is the offset
        temporary = self._record_path(upload.id).with_suffix(".tmp")
        temporary.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self._record_path(upload.id))

    def _data_path(self, upload_id: str) -> Path:
        return self._checked(upload_id).with_suffix(".part")

    def _record_path(self, upload_id: str) -> Path:
        return self._checked(upload_id).with_suffix(".json")

    def _checked(self, upload_id: str) -> Path:
        if not _ID_PATTERN.match(upload_id):
            raise NotFoundError(f"Загрузка {upload_id!r} не найдена. No upload {upload_id!r}.")
        return self.directory / upload_id
