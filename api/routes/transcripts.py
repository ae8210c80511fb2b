"""Transcripts: the current (or any) revision, exports, editor corrections, history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response

from api.auth import require
from api.deps import SessionDep
from api.params import RevisionNumber, RevisionQuery
from api.schemas import EditRequest, RevisionPublic, SpeakerVoiceRequest
from efir.accounts import Permission
from efir.db import Clip, TranscriptRevision
from efir.exports import FORMATS, NUMBER_STYLES, CueRules, render
from efir.transcript import Transcript
from efir.transcripts_store import (
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


@router.get("/{clip_id}/export", dependencies=[require(Permission.EXPORT)])
def export_transcript(
    clip_id: str,
    request: Request,
    session: SessionDep,
    format_name: Annotated[str, Query(alias="format")] = "srt",
    revision: RevisionQuery = None,
    timecodes: bool = False,
    numbers: str = "words",
) -> Response:
    """The transcript as a file; subtitle rules can be overridden by query parameters
    (e.g. ``max_chars_per_line=37``); ``numbers=digits`` writes numbers as digits."""
    export_format = FORMATS.get(format_name)
    if export_format is None:
        raise HTTPException(
            422, f"Неизвестный формат {format_name!r}; known formats: {', '.join(FORMATS)}"
        )
    if numbers not in NUMBER_STYLES:
        raise HTTPException(
            422, f"Неизвестный вид чисел {numbers!r}; known: {', '.join(NUMBER_STYLES)}"
        )
    try:
        rules = CueRules.from_query(request.query_params)
    except ValueError as error:
        raise HTTPException(422, str(error)) from None
    row = _revision(session, clip_id, revision)
    clip = session.get(Clip, clip_id)
    body = render(
        Transcript.from_dict(row.data),
        format_name,
        rules=rules,
        timecodes=timecodes,
        title=clip.title if clip else None,
        numbers=numbers,
    )
    filename = f"{clip_id}-r{row.revision}.{export_format.extension}"
    return Response(
        body,
        media_type=export_format.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.patch("/{clip_id}", dependencies=[require(Permission.EDIT)])
def edit(clip_id: str, request_body: EditRequest, session: SessionDep) -> dict[str, Any]:
    """Apply edit ops to ``base_revision``; 409 when someone saved a newer revision first."""
    try:
        row = edit_transcript(
            session,
            clip_id=clip_id,
            base_revision=request_body.base_revision,
            raw_ops=request_body.ops,
            author=request_body.author,
        )
    except ValueError as error:
        raise HTTPException(422, str(error)) from None
    return _public(row)


@router.get(
    "/{clip_id}/revisions",
    response_model=list[RevisionPublic],
    dependencies=[require(Permission.READ)],
)
def revisions(clip_id: str, session: SessionDep) -> list[RevisionPublic]:
    """History, newest first."""
    return [RevisionPublic.model_validate(row) for row in list_revisions(session, clip_id)]


@router.post("/{clip_id}/revisions/{revision}/restore", dependencies=[require(Permission.EDIT)])
def restore(clip_id: str, revision: RevisionNumber, session: SessionDep) -> dict[str, Any]:
    """Make ``revision`` current again, saved as a new revision."""
    return _public(restore_revision(session, clip_id=clip_id, revision=revision))


@router.post("/{clip_id}/speakers/{speaker_id}/voice", dependencies=[require(Permission.EDIT)])
def set_voice(
    clip_id: str, speaker_id: str, request_body: SpeakerVoiceRequest, session: SessionDep
) -> dict[str, Any]:
    """This speaker is that registry voice: a new revision with the voice's name, title, role."""
    row = set_speaker_voice(
        session,
        clip_id=clip_id,
        speaker_id=speaker_id,
        voice_id=request_body.voice_id,
        author=request_body.author,
    )
    return _public(row)


def _revision(session: SessionDep, clip_id: str, revision: int | None) -> TranscriptRevision:
    if revision is None:
        return latest_revision(session, clip_id)
    return get_revision(session, clip_id, revision)


def _public(row: TranscriptRevision) -> dict[str, Any]:
    return {"clip_id": row.clip_id, "revision": row.revision, **row.data}
