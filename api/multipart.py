"""Streaming multipart upload: the file part goes straight into storage staging.

Starlette's own form parser spools the whole file to a temporary file before the
handler runs, so a size limit could only be checked after 4 GB had been written.
Here the request body is fed chunk by chunk to python-multipart, the file's bytes
are hashed and written to the storage's staging file as they arrive, and the limit
stops the upload the moment it is crossed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from python_multipart.exceptions import ParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from efir.config import Settings
from efir.errors import EfirError, MediaTooLargeError
from efir.media.storage.base import MediaStorage, StagedMedia, require_free_space

if TYPE_CHECKING:  # the callbacks TypedDict exists for type checkers only
    from python_multipart.multipart import MultipartCallbacks

__all__ = [
    "InvalidUploadError",
    "UploadForm",
    "display_filename",
    "receive_media",
    "receive_upload",
]

FILE_FIELD = "file"
# Multipart boundaries and the form fields around the file.
_MULTIPART_OVERHEAD_BYTES = 1024 * 1024
_MAX_FIELD_BYTES = 256 * 1024  # a glossary of a few thousand names fits
_MAX_FIELDS = 16
_MAX_FILENAME_BYTES = 255
# Direction overrides and isolates (U+202A-U+202E, U+2066-U+2069) make a name display
# as something else ("clip\u202egpj.exe" reads as "clipexe.jpg") in every list it shows in.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class InvalidUploadError(EfirError):
    """The upload request is malformed or names its file in a way we refuse."""


@dataclass
class UploadForm:
    # The last value of each field; ``values`` keeps every value of repeated ones
    # (``timestamp_granularities[]`` is sent once per item).
    fields: dict[str, str] = field(default_factory=dict)
    values: dict[str, list[str]] = field(default_factory=dict)
    staged: StagedMedia | None = None
    filename: str | None = None


def display_filename(raw: str) -> str:
    """The uploaded name, kept for display only; refuse names that try to be paths."""
    name = unicodedata.normalize("NFC", raw.strip())
    if not name:
        raise InvalidUploadError("У файла нет имени. The uploaded file has no name.")
    if len(name.encode("utf-8")) > _MAX_FILENAME_BYTES:
        raise InvalidUploadError(
            "Имя файла длиннее 255 байт. The file name is longer than 255 bytes."
        )
    if any(unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS for char in name):
        raise InvalidUploadError(
            "Имя файла содержит управляющие символы. The file name contains control characters."
        )
    if "/" in name or "\\" in name or name in (".", ".."):
        raise InvalidUploadError(
            "Имя файла не должно содержать путь (/, \\, ..). "
            "The file name must not contain a path (/, \\, ..)."
        )
    return name


async def receive_media(
    request: Request, settings: Settings, storage: MediaStorage, *, file_field: str = FILE_FIELD
) -> tuple[StagedMedia, str, UploadForm]:
    """A media upload: refused at once when its declared size is over the limit or the
    disk's free space, else parsed; returns the closed staged file, its name and the form."""
    declared = int(request.headers.get("content-length") or 0)
    if declared > settings.max_upload_bytes + _MULTIPART_OVERHEAD_BYTES:
        raise MediaTooLargeError(
            "Файл больше допустимого размера. The file is over the upload size limit."
        )
    require_free_space(storage.staging_dir, declared)
    form = await receive_upload(
        request, storage, max_bytes=settings.max_upload_bytes, file_field=file_field
    )
    # For mypy: receive_upload returns a staged file and its name or raises.
    assert form.staged is not None and form.filename is not None  # nosec B101
    return form.staged, form.filename, form


async def receive_upload(
    request: Request, storage: MediaStorage, *, max_bytes: int, file_field: str = FILE_FIELD
) -> UploadForm:
    """Parse the multipart body; the caller owns (and must commit or discard) ``staged``."""
    content_type, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise InvalidUploadError(
            f"Ожидается multipart/form-data с полем {file_field}. "
            f"Expected multipart/form-data with a file in field {file_field}."
        )
    collector = _PartCollector(storage, max_bytes=max_bytes, file_field=file_field)
    parser = MultipartParser(boundary, collector.callbacks())
    try:
        async for chunk in request.stream():
            # Parsing, hashing and the disk write run off the event loop, one chunk at a time.
            await run_in_threadpool(parser.write, chunk)
        parser.finalize()
    except ParseError as error:
        collector.discard()
        raise InvalidUploadError(
            f"Тело запроса — некорректная форма multipart ({error}). "
            f"The request body is not well-formed multipart ({error})."
        ) from None
    except BaseException:
        collector.discard()
        raise
    if collector.form.staged is None:
        raise InvalidUploadError(
            f"В запросе нет поля {file_field}. The request has no {file_field} field."
        )
    await run_in_threadpool(collector.form.staged.close)
    return collector.form


class _PartCollector:
    """python-multipart callbacks that route each part to a field value or the staged file."""

    def __init__(self, storage: MediaStorage, *, max_bytes: int, file_field: str) -> None:
        self.form = UploadForm()
        self._storage = storage
        self._max_bytes = max_bytes
        self._file_field = file_field
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._field: str | None = None
        self._value = bytearray()
        self._writing_file = False

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
        }

    def discard(self) -> None:
        if self.form.staged is not None:
            self.form.staged.discard()

    def _on_part_begin(self) -> None:
        self._headers = {}
        self._field = None
        self._value = bytearray()
        self._writing_file = False

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name = b""
        self._header_value = b""

    def _on_headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get(b"content-disposition"))
        if disposition != b"form-data" or b"name" not in options:
            raise InvalidUploadError("Часть формы без имени. A form part has no name.")
        name = _decode(options[b"name"])
        if b"filename" not in options:
            if len(self.form.fields) >= _MAX_FIELDS:
                raise InvalidUploadError("Слишком много полей формы. Too many form fields.")
            self._field = name
            return
        if name != self._file_field or self.form.staged is not None:
            raise InvalidUploadError(
                f"Загрузите ровно один файл в поле {self._file_field}. "
                f"Upload exactly one file, in field '{self._file_field}'."
            )
        self.form.filename = display_filename(_decode(options[b"filename"]))
        self.form.staged = self._storage.stage(max_bytes=self._max_bytes)
        self._writing_file = True

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._writing_file and self.form.staged is not None:
            self.form.staged.write(data[start:end])
            return
        self._value += data[start:end]
        if len(self._value) > _MAX_FIELD_BYTES:
            raise InvalidUploadError(
                f"Поле {self._field} больше 256 KB. Field {self._field} is over 256 KB."
            )

    def _on_part_end(self) -> None:
        if self._field is not None:
            value = _decode(bytes(self._value))
            self.form.fields[self._field] = value
            self.form.values.setdefault(self._field, []).append(value)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidUploadError("Форма не в UTF-8. The form is not UTF-8.") from None
