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
 └── StorageFullError  the disk that receives uploads has no room (ENOSPC, EDQUOT)
"""

from __future__ import annotations

__all__ = [
    "AsrError",
    "EfirError",
    "InvalidEditError",
    "InvalidExportError",
    "MediaError",
    "MediaTooLargeError",
    "ModelNotFoundError",
    "NoAudioError",
    "NotFoundError",
    "OcrError",
    "StorageFullError",
]


class EfirError(Exception):
    """Base class of every error efir raises on purpose."""


class MediaError(EfirError):
    """The media cannot be decoded; the message is fit to show a newsroom user."""


class NoAudioError(MediaError):
    """The container has no audio track."""


class MediaTooLargeError(MediaError):
    """The media is over the configured size or duration limit."""


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


class StorageFullError(EfirError):
    """The disk that receives uploads is full; nothing of the upload is kept."""
