"""Clip rows: one way to record stored media as a clip, for the API upload and the CLI,
and one way to find a clip or say it does not exist."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from efir.db import Clip
from efir.errors import NotFoundError
from efir.media_probe import MediaSummary
from efir.storage import StoredMedia

__all__ = ["get_clip", "record_clip"]


def get_clip(session: Session, clip_id: str) -> Clip:
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise NotFoundError(f"Клип {clip_id} не найден. Clip {clip_id} does not exist.")
    return clip


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
