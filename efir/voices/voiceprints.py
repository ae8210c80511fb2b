"""Clip voiceprints: each clip speaker's voice kept beside its transcript, and what
the voice registry learns from them.

A job stores one print per diarized speaker (`clip_speakers`) and the registry then
remembers the speakers a caption was seen over (their prints hold only that
speech). Because the prints stay, a speaker an editor names days later still
teaches the registry: the rename reaches
`remember_clip_voices` through `efir.transcripts.revisions`. Functions flush and leave
the commit to the caller.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from efir.db import ClipSpeaker
from efir.transcripts.model import Transcript
from efir.voices.registry import VoicePrint, remember_voices

__all__ = ["load_voiceprints", "remember_clip_voices", "store_voiceprints"]


def store_voiceprints(
    session: Session, clip_id: str, voiceprints: Mapping[str, VoicePrint]
) -> None:
    """The clip's prints become exactly `voiceprints` (a re-run replaces its own)."""
    session.execute(delete(ClipSpeaker).where(ClipSpeaker.clip_id == clip_id))
    session.add_all(
        ClipSpeaker(
            clip_id=clip_id,
            speaker_id=speaker_id,
            centroid=[float(x) for x in voiceprint.centroid],
            speech_s=float(voiceprint.speech_s),
        )
        for speaker_id, voiceprint in voiceprints.items()
    )
    session.flush()


def load_voiceprints(session: Session, clip_id: str) -> dict[str, VoicePrint]:
    rows = session.scalars(select(ClipSpeaker).where(ClipSpeaker.clip_id == clip_id))
    return {
        row.speaker_id: VoicePrint(np.asarray(row.centroid, dtype=np.float32), row.speech_s)
        for row in rows
    }


def remember_clip_voices(
    session: Session,
    clip_id: str,
    transcript: Transcript,
    speaker_ids: Collection[str] | None = None,
) -> Transcript:
    """The registry learns the named speakers among `speaker_ids` (all when None) from
    the clip's stored prints; returns the transcript with their `voice_id` set.

    Speakers without a print (an editor's new speaker, an audio-less clip) are skipped."""
    prints = {
        speaker_id: voiceprint
        for speaker_id, voiceprint in load_voiceprints(session, clip_id).items()
        if speaker_ids is None or speaker_id in speaker_ids
    }
    return remember_voices(
        session,
        transcript,
        {speaker_id: p.centroid for speaker_id, p in prints.items()},
        {speaker_id: p.speech_s for speaker_id, p in prints.items()},
        clip_id=clip_id,
    )
