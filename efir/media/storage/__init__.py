"""Where media lives: the interface and local disk in ``base``, S3 in ``s3``."""

from __future__ import annotations

from efir.config import Settings
from efir.media.storage.base import LocalStorage, MediaStorage

__all__ = ["make_storage"]


def make_storage(settings: Settings) -> MediaStorage:
    """The storage the settings name; the API, the workers and the CLI all use this."""
    if settings.storage == "s3":
        from efir.media.storage.s3 import S3Storage  # boto3 is the optional `s3` extra

        return S3Storage.from_settings(settings)
    return LocalStorage(settings.media_dir)
