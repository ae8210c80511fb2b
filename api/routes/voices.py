"""The speaker registry: the newsroom's known voices, to list, correct, merge and forget.

Setting a clip's speaker to a voice lives with the transcripts
(``POST /api/v1/transcripts/{clip_id}/speakers/{speaker_id}/voice``).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.auth import require
from api.deps import SessionDep
from api.schemas import VoiceMergeRequest, VoicePublic, VoiceUpdate
from efir.accounts.users import Permission
from efir.voices.registry import delete_voice, get_voice, list_voices, merge_voices, rename_voice

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/voices", tags=["voices"])


@router.get("", response_model=list[VoicePublic], dependencies=[require(Permission.READ)])
def voices(session: SessionDep) -> list[VoicePublic]:
    """Every known voice, by name."""
    return [VoicePublic.model_validate(voice) for voice in list_voices(session)]


@router.get("/{voice_id}", response_model=VoicePublic, dependencies=[require(Permission.READ)])
def voice(voice_id: str, session: SessionDep) -> VoicePublic:
    return VoicePublic.model_validate(get_voice(session, voice_id))


@router.patch(
    "/{voice_id}", response_model=VoicePublic, dependencies=[require(Permission.VOICES_EDIT)]
)
def update_voice(voice_id: str, changes: VoiceUpdate, session: SessionDep) -> VoicePublic:
    """New name, title or role; clips processed later are captioned with them."""
    updated = rename_voice(
        session, voice_id, name=changes.name, title=changes.title, role=changes.role
    )
    session.commit()
    return VoicePublic.model_validate(updated)


@router.post(
    "/{voice_id}/merge",
    response_model=VoicePublic,
    dependencies=[require(Permission.VOICES_ADMIN)],
)
def merge(voice_id: str, request_body: VoiceMergeRequest, session: SessionDep) -> VoicePublic:
    """``other_id`` is the same person: folded into this voice and removed."""
    merged = merge_voices(session, into_id=voice_id, from_id=request_body.other_id)
    session.commit()
    return VoicePublic.model_validate(merged)


@router.delete("/{voice_id}", status_code=204, dependencies=[require(Permission.VOICES_ADMIN)])
def forget(voice_id: str, session: SessionDep) -> Response:
    """Forget the voice; transcripts that name the speaker keep the name."""
    delete_voice(session, voice_id)
    session.commit()
    return Response(status_code=204)
