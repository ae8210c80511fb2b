"""The archive as a library: every clip listed, filtered and sorted without a search word;
metadata corrected after upload; clips deleted with an audit record; media expired.

Programme and channel match without regard to case (and ё = е): the distinct values are
few, so they are compared in Python with the search normaliser rather than with SQL
``lower()``, which SQLite applies to ASCII only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from efir.cuts.jobs import cut_files, expire_cut_media
from efir.db import AuditEvent, Clip, ClipSpeaker, Job, JobState, utcnow
from efir.media.clips import get_clip
from efir.media.storage.base import MediaStorage
from efir.search.indexing import remove_clip, update_clip_meta
from efir.search.lemmas import normalise
from efir.search.models import ClipMeta
from efir.search.schema import search_segments

__all__ = [
    "EDITABLE_FIELDS",
    "LibraryPage",
    "LibraryQuery",
    "LibrarySort",
    "delete_clip",
    "expire_media",
    "latest_jobs",
    "list_library",
    "suggest_values",
    "update_clip",
]

LibrarySort = Literal["created", "air_date", "title", "duration"]
SuggestField = Literal["programme", "channel"]
EDITABLE_FIELDS = ("title", "programme", "channel", "air_date")

_SORT_COLUMNS = {
    "created": Clip.created_at,
    "air_date": Clip.air_date,
    "title": Clip.title,
    "duration": Clip.duration_s,
}


@dataclass(frozen=True)
class LibraryQuery:
    programme: str | None = None
    channel: str | None = None
    date_from: date | None = None  # air date, inclusive
    date_to: date | None = None
    speaker: str | None = None  # a substring of an on-screen caption, any case
    state: JobState | None = None  # the state of the clip's latest job
    sort: LibrarySort = "created"
    descending: bool = True
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class LibraryPage:
    clips: list[Clip]
    total: int


def list_library(session: Session, query: LibraryQuery) -> LibraryPage:
    """One page of clips matching every filter given, and how many match in all."""
    conditions = _conditions(session, query)
    total = session.scalar(select(func.count()).select_from(Clip).where(*conditions)) or 0
    column = _SORT_COLUMNS[query.sort]
    order = column.desc().nulls_last() if query.descending else column.asc().nulls_last()
    clips = session.scalars(
        select(Clip)
        .where(*conditions)
        .order_by(order, Clip.created_at.desc(), Clip.id)
        .limit(query.limit)
        .offset(query.offset)
    ).all()
    return LibraryPage(list(clips), total)


def latest_jobs(session: Session, clip_ids: Sequence[str]) -> dict[str, Job]:
    """Each clip's newest job, for the clips that have one."""
    newest = (
        select(Job.clip_id, func.max(Job.created_at).label("created_at"))
        .where(Job.clip_id.in_(clip_ids))
        .group_by(Job.clip_id)
        .subquery()
    )
    jobs = session.scalars(
        select(Job).join(
            newest, (Job.clip_id == newest.c.clip_id) & (Job.created_at == newest.c.created_at)
        )
    )
    return {job.clip_id: job for job in jobs}


def suggest_values(session: Session, field: SuggestField, typed: str, limit: int = 10) -> list[str]:
    """Existing programme or channel names containing ``typed`` (any case), most used first."""
    column = Clip.programme if field == "programme" else Clip.channel
    rows = session.execute(
        select(column, func.count()).where(column.is_not(None)).group_by(column)
    ).all()
    fragment = normalise(typed.strip())
    found = sorted(
        (-count, value) for value, count in rows if value and fragment in normalise(value)
    )
    return [value for _, value in found[:limit]]


def update_clip(session: Session, clip_id: str, changes: Mapping[str, object]) -> Clip:
    """Correct a clip's title, programme, channel or air date; search follows at once."""
    clip = get_clip(session, clip_id)
    for name in EDITABLE_FIELDS:
        if name in changes:
            value = changes[name]
            setattr(clip, name, value.strip() or None if isinstance(value, str) else value)
    update_clip_meta(session, ClipMeta.from_clip(clip))
    session.commit()
    return clip


def delete_clip(session: Session, storage: MediaStorage, clip_id: str, *, actor: str) -> None:
    """Delete a clip with its jobs, revisions, search rows, voiceprints and cuts, and its
    media unless another clip holds the same file; an audit record says who and what."""
    clip = get_clip(session, clip_id)
    details = {
        "title": clip.title,
        "programme": clip.programme,
        "air_date": clip.air_date.isoformat() if clip.air_date else None,
        "original_filename": clip.original_filename,
        "sha256": clip.sha256,
    }
    media_key, media_kept = clip.media_key, clip.media_removed_at is None
    shared = _media_shared(session, clip)
    cuts = cut_files(session, clip_id)
    remove_clip(session, clip_id)
    session.execute(delete(ClipSpeaker).where(ClipSpeaker.clip_id == clip_id))
    session.delete(clip)  # jobs, revisions, chunks and webhooks go with it (ON DELETE CASCADE)
    session.add(AuditEvent(actor=actor, action="clip.delete", clip_id=clip_id, details=details))
    session.commit()
    # After the commit: a failed commit must not leave a clip whose media is gone.
    if media_kept and not shared:
        storage.delete(media_key)
    for key in cuts:  # quotes cut from it (efir.cuts): their rows went with it
        storage.delete(key)


def expire_media(
    session: Session, storage: MediaStorage, *, older_than_days: int, now: datetime | None = None
) -> list[str]:
    """Delete the media of clips uploaded more than ``older_than_days`` ago, and the media
    cut from them, keeping their transcripts and search rows; returns the clip ids whose
    media went."""
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    expired = session.scalars(
        select(Clip).where(Clip.created_at < cutoff, Clip.media_removed_at.is_(None))
    ).all()
    for clip in expired:
        clip.media_removed_at = utcnow()
        session.add(
            AuditEvent(
                actor="retention",
                action="media.expire",
                clip_id=clip.id,
                details={"older_than_days": older_than_days},
            )
        )
    cut_keys = expire_cut_media(session, [clip.id for clip in expired])
    session.commit()
    for clip in expired:
        if not _media_shared(session, clip, live_only=True):
            storage.delete(clip.media_key)
    for key in cut_keys:
        storage.delete(key)
    return [clip.id for clip in expired]


def _media_shared(session: Session, clip: Clip, *, live_only: bool = False) -> bool:
    """Another clip (with its media still kept, if ``live_only``) holds the same file."""
    others = select(func.count()).where(Clip.media_key == clip.media_key, Clip.id != clip.id)
    if live_only:
        others = others.where(Clip.media_removed_at.is_(None))
    return bool(session.scalar(others))


def _conditions(session: Session, query: LibraryQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for column, wanted in ((Clip.programme, query.programme), (Clip.channel, query.channel)):
        if wanted and wanted.strip():
            conditions.append(column.in_(stored_names(session, column, wanted)))
    if query.date_from:
        conditions.append(Clip.air_date >= query.date_from)
    if query.date_to:
        conditions.append(Clip.air_date <= query.date_to)
    if query.speaker and query.speaker.strip():
        fragment = normalise(query.speaker.strip())
        conditions.append(
            Clip.id.in_(
                select(search_segments.c.clip_id).where(
                    search_segments.c.speaker_key.contains(fragment, autoescape=True)
                )
            )
        )
    if query.state:
        conditions.append(_latest_state(query.state))
    return conditions


def stored_names(
    session: Session, column: InstrumentedAttribute[str | None], wanted: str
) -> list[str]:
    """The programme or channel names as clips store them that equal ``wanted`` in any
    case (ё = е); ``wanted`` itself when none does. Names are few: compared in Python,
    since SQLite's lower() folds ASCII only."""
    key = normalise(wanted.strip())
    stored = session.scalars(select(column).where(column.is_not(None)).distinct())
    return [name for name in stored if name is not None and normalise(name) == key] or [wanted]


def _latest_state(state: JobState) -> ColumnElement[bool]:
    newest = (
        select(Job.state).where(Job.clip_id == Clip.id).order_by(Job.created_at.desc()).limit(1)
    )
    return newest.scalar_subquery() == state
