"""Transcript revisions: every save is revision n+1, the highest is current.

Saving also refreshes the search index (``efir.search``) in the same transaction,
so search always follows the latest revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from efir.db import Clip, TranscriptRevision
from efir.errors import EfirError, NotFoundError
from efir.media.clips import get_clip
from efir.search import ClipMeta, index_transcript
from efir.search.schema import search_segments
from efir.transcripts.edits import EditOp, RenameSpeaker, apply_edits
from efir.transcripts.model import SpeakerRole, Transcript
from efir.voices.registry import assign_voice, get_voice
from efir.voices.voiceprints import load_voiceprints, remember_clip_voices

__all__ = [
    "WORKER_AUTHOR",
    "RevisionConflictError",
    "apply_voice_name",
    "edit_transcript",
    "get_revision",
    "latest_revision",
    "list_revisions",
    "restore_revision",
    "save_job_output",
    "save_revision",
    "set_speaker_voice",
]

WORKER_AUTHOR = "efir-worker"


class RevisionConflictError(EfirError):
    """An edit was based on a revision that is no longer the latest."""


def save_revision(
    session: Session,
    *,
    clip_id: str,
    transcript: Transcript,
    author: str | None = None,
    note: str | None = None,
) -> TranscriptRevision:
    clip = get_clip(session, clip_id)
    latest = session.scalar(
        select(func.max(TranscriptRevision.revision)).where(TranscriptRevision.clip_id == clip_id)
    )
    row = TranscriptRevision(
        clip_id=clip_id,
        revision=(latest or 0) + 1,
        data=transcript.to_dict(),
        author=author,
        note=note,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise RevisionConflictError(
            "Расшифровку одновременно изменили; обновите страницу. "
            "Someone saved this transcript at the same moment; reload and retry."
        ) from None
    _reindex(session, clip, transcript)
    session.commit()
    return row


def save_job_output(
    session: Session, *, clip_id: str, job_id: str, transcript: Transcript
) -> TranscriptRevision:
    """Save a worker's transcript; a re-run of the same job replaces its own revision.

    Only while no editor has saved on top of it: corrections are never overwritten.
    """
    note = f"job:{job_id}"
    current = _latest_or_none(session, clip_id)
    if current is None or current.note != note or current.author != WORKER_AUTHOR:
        return save_revision(
            session, clip_id=clip_id, transcript=transcript, author=WORKER_AUTHOR, note=note
        )
    current.data = transcript.to_dict()
    _reindex(session, get_clip(session, clip_id), transcript)
    session.commit()
    return current


def latest_revision(session: Session, clip_id: str) -> TranscriptRevision:
    row = _latest_or_none(session, clip_id)
    if row is None:
        get_clip(session, clip_id)
        raise NotFoundError(
            f"Расшифровки сюжета {clip_id} ещё нет. Clip {clip_id} has no transcript yet."
        )
    return row


def get_revision(session: Session, clip_id: str, revision: int) -> TranscriptRevision:
    row = session.scalar(
        select(TranscriptRevision).where(
            TranscriptRevision.clip_id == clip_id, TranscriptRevision.revision == revision
        )
    )
    if row is None:
        raise NotFoundError(
            f"У сюжета {clip_id} нет версии {revision}. Clip {clip_id} has no revision {revision}."
        )
    return row


def list_revisions(session: Session, clip_id: str) -> Sequence[TranscriptRevision]:
    get_clip(session, clip_id)
    return session.scalars(
        select(TranscriptRevision)
        .where(TranscriptRevision.clip_id == clip_id)
        .order_by(TranscriptRevision.revision.desc())
    ).all()


def edit_transcript(
    session: Session,
    *,
    clip_id: str,
    base_revision: int,
    ops: Sequence[EditOp],
    author: str | None = None,
) -> TranscriptRevision:
    """Apply editor ops (``efir.transcripts.edits``) to ``base_revision``, saving the next one.

    InvalidEditError for ops that do not fit; RevisionConflictError when someone
    saved since ``base_revision`` was read. A speaker given a new name (or named but
    not yet linked to a voice) teaches the voice registry from the clip's stored
    voiceprint and is linked to that voice; resending the same name (the editor's
    form always sends it with the title) is not a new sighting.
    """
    current = latest_revision(session, clip_id)
    if current.revision != base_revision:
        raise RevisionConflictError(
            f"Правка основана на версии {base_revision}, а текущая — {current.revision}. "
            f"The edit is based on revision {base_revision}; the latest is {current.revision}."
        )
    before = Transcript.from_dict(current.data)
    edited = apply_edits(before, ops)
    named = _newly_named(before, edited, ops)
    if named:
        edited = remember_clip_voices(session, clip_id, edited, named)
    return save_revision(
        session,
        clip_id=clip_id,
        transcript=edited,
        author=author,
        note=f"edit of revision {base_revision}",
    )


def restore_revision(
    session: Session, *, clip_id: str, revision: int, author: str | None = None
) -> TranscriptRevision:
    """Make an old revision current again, as a new revision (history is never rewritten)."""
    old = get_revision(session, clip_id, revision)
    return save_revision(
        session,
        clip_id=clip_id,
        transcript=Transcript.from_dict(old.data),
        author=author,
        note=f"restore of revision {revision}",
    )


def set_speaker_voice(
    session: Session,
    *,
    clip_id: str,
    speaker_id: str,
    voice_id: str,
    author: str | None = None,
) -> TranscriptRevision:
    """An editor says a clip speaker is a registry voice: a new revision where the speaker
    carries the voice's name, title and role; the voice learns the speaker's print."""
    current = latest_revision(session, clip_id)
    prints = load_voiceprints(session, clip_id)
    edited = assign_voice(
        session,
        Transcript.from_dict(current.data),
        speaker_id,
        voice_id,
        {sid: p.centroid for sid, p in prints.items()},
        {sid: p.speech_s for sid, p in prints.items()},
        clip_id=clip_id,
    )
    return save_revision(
        session,
        clip_id=clip_id,
        transcript=edited,
        author=author,
        note=f"speaker {speaker_id} is voice {voice_id}",
    )


def apply_voice_name(session: Session, voice_id: str, *, author: str | None) -> list[str]:
    """After a registry voice is renamed: a new revision in every clip where a speaker is
    that voice, carrying its name, title and role (search follows); returns the clip ids.
    Speakers an editor named by hand, without linking a voice, are left alone."""
    voice = get_voice(session, voice_id)
    role = SpeakerRole(voice.role) if voice.role else None
    clip_ids = session.scalars(
        select(search_segments.c.clip_id).where(search_segments.c.voice_id == voice_id).distinct()
    ).all()
    changed = []
    for clip_id in sorted(clip_ids):
        current = Transcript.from_dict(latest_revision(session, clip_id).data)
        speakers = tuple(
            replace(speaker, name=voice.name, title=voice.title, role=role or speaker.role)
            if speaker.voice_id == voice_id
            else speaker
            for speaker in current.speakers
        )
        if speakers == current.speakers:
            continue
        save_revision(
            session,
            clip_id=clip_id,
            transcript=replace(current, speakers=speakers),
            author=author,
            note=f"voice {voice_id} renamed",
        )
        changed.append(clip_id)
    return changed


def _newly_named(before: Transcript, after: Transcript, ops: Sequence[EditOp]) -> set[str]:
    renamed = {op.speaker_id for op in ops if isinstance(op, RenameSpeaker)}
    return {
        speaker.id
        for speaker in after.speakers
        if speaker.id in renamed
        and speaker.name
        and (
            not speaker.voice_id
            or speaker.name != getattr(before.speaker(speaker.id), "name", None)
        )
    }


def _latest_or_none(session: Session, clip_id: str) -> TranscriptRevision | None:
    return session.scalar(
        select(TranscriptRevision)
        .where(TranscriptRevision.clip_id == clip_id)
        .order_by(TranscriptRevision.revision.desc())
        .limit(1)
    )


def _reindex(session: Session, clip: Clip, transcript: Transcript) -> None:
    index_transcript(session, ClipMeta.from_clip(clip), transcript)
