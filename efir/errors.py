"""One exception tree for efir.

EfirError
 ├── MediaError        the upload cannot be decoded (permanent: never retried)
 │    ├── NoAudioError  a container without an audio track
 │    └── MediaTooLargeError  over the size or duration limit
 ├── AsrError          the speech model failed
 ├── ModelNotFoundError  no usable CTranslate2 Whisper model at the configured path
 ├── OcrError          caption reading failed
 ├── NotFoundError     a clip, job or transcript id that does not exist
 ├── InvalidEditError  an editor op that does not fit the transcript (also a ValueError)
 ├── InvalidExportError  an unknown export format or subtitle rule (also a ValueError)
 ├── InvalidCutError   a cut or selection that cannot be made from the clip (also a ValueError)
 └── StorageFullError  the disk that receives uploads has no room (ENOSPC, EDQUOT)
"""

from __future__ import annotations

import re
from typing import ClassVar

__all__ = [
    "AsrError",
    "EfirError",
    "InvalidCutError",
    "InvalidEditError",
    "InvalidExportError",
    "MediaError",
    "MediaTooLargeError",
    "ModelNotFoundError",
    "NoAudioError",
    "NotFoundError",
    "OcrError",
    "StorageFullError",
    "split_languages",
]


class EfirError(Exception):
    """Base class of every error efir raises on purpose.

    Messages are written "Russian sentence. English sentence."; ``messages`` parts them so
    a client shows one language. ``code`` is stable for programs: the class name in
    snake case without "_error" unless a class names its own."""

    code: ClassVar[str] = ""

    @property
    def error_code(self) -> str:
        if self.code:
            return self.code
        snake = _CAMEL_BOUNDARY.sub("_", type(self).__name__).lower()
        return snake.removesuffix("_error")

    @property
    def context(self) -> dict[str, object]:
        """Fields a client may act on (e.g. the clip an upload duplicates); none by default."""
        return {}

    @property
    def messages(self) -> dict[str, str]:
        """``{"ru": …, "en": …}``; both the whole text when it is not in two parts."""
        return split_languages(str(self))


# Where the Russian sentence(s) end and the English begin: a sentence end followed by a
# capital Latin letter, with Cyrillic before it and none of it in the first English word.
_LANGUAGE_SPLIT = re.compile(r"(?<=[.!?»)])\s+(?=[A-Z][a-z' ]*\b)")
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def split_languages(text: str) -> dict[str, str]:
    for match in _LANGUAGE_SPLIT.finditer(text):
        russian, english = text[: match.start()], text[match.end() :]
        if _CYRILLIC.search(russian) and not _CYRILLIC.search(english.split(" ", 1)[0]):
            return {"ru": russian.strip(), "en": english.strip()}
    return {"ru": text, "en": text}


class MediaError(EfirError):
    """The media cannot be decoded; the message is fit to show a newsroom user."""

    code = "media_undecodable"


class NoAudioError(MediaError):
    """The container has no audio track."""

    code = "media_no_audio"


class MediaTooLargeError(MediaError):
    """The media is over the configured size or duration limit."""

    code = "media_too_large"


class AsrError(EfirError):
    """Speech recognition failed."""


class ModelNotFoundError(EfirError):
    """No usable CTranslate2 Whisper model at the configured path."""


class OcrError(EfirError):
    """On-screen caption reading failed."""


class NotFoundError(EfirError):
    """A clip, job or transcript id that does not exist."""


class InvalidEditError(EfirError, ValueError):
    """An editor op that does not fit the transcript (no such segment, not consecutive...)."""


class InvalidExportError(EfirError, ValueError):
    """An unknown export format, or a subtitle rule value out of range."""


class InvalidCutError(EfirError, ValueError):
    """A cut that cannot be made: an empty or out-of-range span, video asked of an audio
    clip, media removed by retention, an unknown segment."""


class StorageFullError(EfirError):
    """The disk that receives uploads is full; nothing of the upload is kept."""
