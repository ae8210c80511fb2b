"""Clip rows: one way to record stored media as a clip, for the API upload and the CLI,
and one way to find a clip or say it does not exist."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from efir.db import Clip
from efir.errors import EfirError, NotFoundError
from efir.media.probe import MediaSummary
from efir.media.storage.base import StoredMedia

__all__ = ["DuplicateClipError", "get_clip", "record_clip", "refuse_duplicate"]


class DuplicateClipError(EfirError):
    """The same file (by content hash) is already a clip; the client chose to be told."""

    def __init__(self, clip: Clip) -> None:
        super().__init__(
            f"Этот файл уже загружен: «{clip.title or clip.original_filename}». "
            f"This file is already in the archive: «{clip.title or clip.original_filename}»."
        )
        self.clip_id = clip.id

    @property
    def context(self) -> dict[str, object]:
        return {"clip_id": self.clip_id}


def get_clip(session: Session, clip_id: str) -> Clip:
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise NotFoundError(f"Сюжет {clip_id} не найден. Clip {clip_id} does not exist.")
    return clip


def refuse_duplicate(session: Session, sha256: str) -> None:
    """DuplicateClipError naming the newest clip with this content, if there is one."""
    existing = session.scalar(
        select(Clip).where(Clip.sha256 == sha256).order_by(Clip.created_at.desc()).limit(1)
    )
    if existing is not None:
        raise DuplicateClipError(existing)


def record_clip(
    session: Session,
    *,
    stored: StoredMedia,
    summary: MediaSummary,
    filename: str,
    title: str | None = None,
    programme: str | None = None,
    channel: str | None = None,
    air_date: date | None = None,
    uploaded_by_user_id: int | None = None,
) -> Clip:
    """Add a clip for media already in storage; the original file name is kept for display only."""
    clip = Clip(
        sha256=stored.sha256,
        original_filename=filename[:255],
        media_key=stored.key,
        size_bytes=stored.size_bytes,
        duration_s=summary.duration_s,
        has_video=summary.has_video,
        media_type=summary.media_type,
        title=title,
        programme=programme,
        channel=channel,
        air_date=air_date,
        uploaded_by_user_id=uploaded_by_user_id,
    )
    session.add(clip)
    session.flush()
    return clip
