"""Transcripts: the current (or any) revision, exports, editor corrections, history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from api.auth import Principal, require
from api.deps import SessionDep
from api.openapi import EXPORT_FORMAT_PARAMETER
from api.params import RevisionNumber, RevisionQuery
from api.schemas import EditRequest, QcReportPublic, RevisionPublic, SpeakerVoiceRequest
from efir.accounts.users import Permission
from efir.db import TranscriptRevision
from efir.exports import CueRules, export_format, quality_check, render
from efir.exports.naming import content_disposition, export_filename
from efir.jobs.lifecycle import add_glossary_term
from efir.media.analyses import load_shot_changes
from efir.media.clips import get_clip
from efir.search.models import ClipMeta
from efir.transcripts.model import Transcript
from efir.transcripts.revisions import (
    edit_transcript,
    get_revision,
    latest_revision,
    list_revisions,
    restore_revision,
    set_speaker_voice,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/transcripts", tags=["transcripts"])


@router.get("/{clip_id}", dependencies=[require(Permission.READ)])
def get_transcript(
    clip_id: str, session: SessionDep, revision: RevisionQuery = None
) -> dict[str, Any]:
    """``{"clip_id", "revision", ...the transcript JSON}``; the latest revision by default."""
    return _public(_revision(session, clip_id, revision))


@dataclass(frozen=True)
class SubtitleQuery:
    """What the export and its QC report both take from the query: the format, the
    revision, how numbers are written and the subtitle rules overridden (e.g.
    ``max_chars_per_line=37``)."""

    format_name: str
    revision: int | None
    numbers: str
    rules: CueRules


def subtitle_query(
    request: Request,
    format_name: Annotated[str, Query(alias="format", description=EXPORT_FORMAT_PARAMETER)] = "srt",
    revision: RevisionQuery = None,
    numbers: str = "words",
) -> SubtitleQuery:
    return SubtitleQuery(format_name, revision, numbers, CueRules.from_query(request.query_params))


SubtitleQueryDep = Annotated[SubtitleQuery, Depends(subtitle_query)]


@router.get("/{clip_id}/export", dependencies=[require(Permission.EXPORT)])
def export_transcript(
    clip_id: str,
    session: SessionDep,
    query: SubtitleQueryDep,
    timecodes: bool = False,
    transliterate: bool = False,
    mark_checks: bool = False,
) -> Response:
    """The transcript as a file; subtitle rules can be overridden by query parameters
    (e.g. ``max_chars_per_line=37``); ``mark_checks`` marks the text export's turns whose
    speaker is flagged for checking; ``numbers=digits`` writes numbers as digits. Named
    ``<air date>_<programme>_<title>.<ext>``, in Latin letters with ``transliterate=true``.
    Subtitle cues are timed to the clip's shot changes where the worker measured them."""
    chosen = export_format(query.format_name)
    row = _revision(session, clip_id, query.revision)
    clip = ClipMeta.from_clip(get_clip(session, clip_id))
    body = render(
        Transcript.from_dict(row.data),
        query.format_name,
        rules=query.rules,
        timecodes=timecodes,
        clip=clip,
        mark_checks=mark_checks,
        numbers=query.numbers,
        shot_changes=load_shot_changes(session, clip_id) or (),
    )
    filename = export_filename(clip, chosen.extension, transliterate=transliterate)
    return Response(
        body,
        media_type=chosen.media_type,
        headers={"Content-Disposition": content_disposition(filename)},
    )


@router.get(
    "/{clip_id}/export/qc",
    response_model=QcReportPublic,
    dependencies=[require(Permission.EXPORT)],
)
def export_quality(clip_id: str, session: SessionDep, query: SubtitleQueryDep) -> QcReportPublic:
    """The QC report of a subtitle export with the same parameters: every cue that breaks
    a rule (reading speed, duration, line length and count, gap, shot-change distance),
    with its time and the reason in Russian and English."""
    row = _revision(session, clip_id, query.revision)
    shots = load_shot_changes(session, clip_id)
    rules, violations = quality_check(
        Transcript.from_dict(row.data),
        query.format_name,
        rules=query.rules,
        numbers=query.numbers,
        shot_changes=shots or (),
    )
    return QcReportPublic.from_check(
        clip_id, row.revision, query.format_name, rules, violations, shots_known=shots is not None
    )


@router.patch("/{clip_id}")
def edit(
    clip_id: str,
    request_body: EditRequest,
    session: SessionDep,
    editor: Annotated[Principal, require(Permission.EDIT)],
) -> dict[str, Any]:
    """Apply edit ops to ``base_revision``; 409 when someone saved a newer revision first.
    The revision's author is the signed-in account, never a name the client sends. A
    ``replace_word`` with ``add_to_glossary`` also adds its replacement to the clip's
    glossary."""
    row = edit_transcript(
        session,
        clip_id=clip_id,
        base_revision=request_body.base_revision,
        ops=request_body.edits(),
        author=editor.username,
    )
    terms = request_body.glossary_terms()
    for term in terms:
        add_glossary_term(session, clip_id, term)
    if terms:
        session.commit()
    return _public(row)


@router.get(
    "/{clip_id}/revisions",
    response_model=list[RevisionPublic],
    dependencies=[require(Permission.READ)],
)
def revisions(clip_id: str, session: SessionDep) -> list[RevisionPublic]:
    """History, newest first."""
    return [RevisionPublic.model_validate(row) for row in list_revisions(session, clip_id)]


@router.post("/{clip_id}/revisions/{revision}/restore")
def restore(
    clip_id: str,
    revision: RevisionNumber,
    session: SessionDep,
    editor: Annotated[Principal, require(Permission.EDIT)],
) -> dict[str, Any]:
    """Make ``revision`` current again, saved as a new revision by the signed-in account."""
    return _public(
        restore_revision(session, clip_id=clip_id, revision=revision, author=editor.username)
    )


@router.post("/{clip_id}/speakers/{speaker_id}/voice")
def set_voice(
    clip_id: str,
    speaker_id: str,
    request_body: SpeakerVoiceRequest,
    session: SessionDep,
    editor: Annotated[Principal, require(Permission.EDIT)],
) -> dict[str, Any]:
    """This speaker is that registry voice: a new revision with the voice's name, title, role."""
    row = set_speaker_voice(
        session,
        clip_id=clip_id,
        speaker_id=speaker_id,
        voice_id=request_body.voice_id,
        author=editor.username,
    )
    return _public(row)


def _revision(session: SessionDep, clip_id: str, revision: int | None) -> TranscriptRevision:
    if revision is None:
        return latest_revision(session, clip_id)
    return get_revision(session, clip_id, revision)


def _public(row: TranscriptRevision) -> dict[str, Any]:
    return {"clip_id": row.clip_id, "revision": row.revision, **row.data}
