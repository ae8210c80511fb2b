"""The speaker registry: the newsroom's known voices, to list, correct, merge and forget.

Setting a clip's speaker to a voice lives with the transcripts
(``POST /api/v1/transcripts/{clip_id}/speakers/{speaker_id}/voice``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from api.auth import Principal, require
from api.deps import SessionDep
from api.schemas import (
    VoiceAppliedPublic,
    VoiceClipPublic,
    VoiceMergeRequest,
    VoicePublic,
    VoiceUpdate,
)
from efir.accounts.users import Permission
from efir.db import Voice
from efir.transcripts.revisions import apply_voice_name
from efir.voices.registry import (
    clip_counts,
    delete_voice,
    forget_clip,
    get_voice,
    list_voices,
    merge_voices,
    rename_voice,
    voice_clips,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/voices", tags=["voices"])


@router.get("", response_model=list[VoicePublic], dependencies=[require(Permission.READ)])
def voices(session: SessionDep) -> list[VoicePublic]:
    """Every known voice, by name."""
    counts = clip_counts(session)
    return [_public(voice, counts) for voice in list_voices(session)]


@router.get("/{voice_id}", response_model=VoicePublic, dependencies=[require(Permission.READ)])
def voice(voice_id: str, session: SessionDep) -> VoicePublic:
    return _public(get_voice(session, voice_id), clip_counts(session))


@router.get(
    "/{voice_id}/clips",
    response_model=list[VoiceClipPublic],
    dependencies=[require(Permission.READ)],
)
def clips(voice_id: str, session: SessionDep) -> list[VoiceClipPublic]:
    """The clips the voice learned from, newest first, with the seconds each gave."""
    return [
        VoiceClipPublic(clip_id=c.clip_id, title=c.title, seconds=c.seconds)
        for c in voice_clips(session, voice_id)
    ]


@router.delete(
    "/{voice_id}/clips/{clip_id}",
    response_model=VoicePublic | None,
    dependencies=[require(Permission.VOICES_ADMIN)],
)
def forget_one_clip(voice_id: str, clip_id: str, session: SessionDep) -> VoicePublic | None:
    """Take what the voice learned from one clip back out (a wrong name there); null when
    that was all it knew and the voice is gone."""
    remaining = forget_clip(session, voice_id, clip_id)
    session.commit()
    return _public(remaining, clip_counts(session)) if remaining else None


@router.patch(
    "/{voice_id}", response_model=VoicePublic, dependencies=[require(Permission.VOICES_EDIT)]
)
def update_voice(voice_id: str, changes: VoiceUpdate, session: SessionDep) -> VoicePublic:
    """New name, title or role; clips processed later are captioned with them."""
    updated = rename_voice(
        session, voice_id, name=changes.name, title=changes.title, role=changes.role
    )
    session.commit()
    return _public(updated, clip_counts(session))


@router.post("/{voice_id}/apply")
def apply_to_clips(
    voice_id: str, session: SessionDep, editor: Annotated[Principal, require(Permission.EDIT)]
) -> VoiceAppliedPublic:
    """Give the voice's current name, title and role to every clip where a speaker is this
    voice: a new revision in each, and search follows. Returns the clips changed."""
    changed = apply_voice_name(session, voice_id, author=editor.username)
    return VoiceAppliedPublic(clip_ids=changed)


@router.post(
    "/{voice_id}/merge",
    response_model=VoicePublic,
    dependencies=[require(Permission.VOICES_ADMIN)],
)
def merge(voice_id: str, request_body: VoiceMergeRequest, session: SessionDep) -> VoicePublic:
    """``other_id`` is the same person: folded into this voice and removed."""
    merged = merge_voices(session, into_id=voice_id, from_id=request_body.other_id)
    session.commit()
    return _public(merged, clip_counts(session))


@router.delete("/{voice_id}", status_code=204, dependencies=[require(Permission.VOICES_ADMIN)])
def forget(voice_id: str, session: SessionDep) -> Response:
    """Forget the voice; transcripts that name the speaker keep the name."""
    delete_voice(session, voice_id)
    session.commit()
    return Response(status_code=204)


def _public(voice: Voice, counts: dict[str, int]) -> VoicePublic:
    return VoicePublic.model_validate(voice).model_copy(
        update={"clip_count": counts.get(voice.id, 0)}
    )
