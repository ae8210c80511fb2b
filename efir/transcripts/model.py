"""The transcript model: the one currency every part of efir speaks.

Times are seconds on the original clip's timeline. The JSON form is the public
contract of the API and the CLI::

    {"duration", "language", "model", "speakers": [...],
     "segments": [{"id", "start", "end", "speaker", "text",
                   "words": [{"start", "end", "word", "probability",
                              "repaired_from" (only on repaired words),
                              "alternatives" (only where the beam heard others)}],
                   "speaker_source"?, "speaker_confidence"?, "check"?}]}

The three optional segment keys say how a segment's speaker was decided (`SpeakerSource`),
how sure that is (0..1), and `"check": true` for a named attribution an editor should
look at. They are written only when set, so older JSON reads and writes unchanged.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

__all__ = ["Segment", "Speaker", "SpeakerRole", "SpeakerSource", "Transcript", "Word"]


class SpeakerRole(StrEnum):
    ANCHOR = "anchor"
    CORRESPONDENT = "correspondent"
    INTERVIEWEE = "interviewee"
    OTHER = "other"


class SpeakerSource(StrEnum):
    """How a segment's speaker was decided, from the strongest evidence down."""

    EDITOR = "editor"  # an editor set or confirmed it
    CAPTION = "caption"  # a name caption was on screen over this speech
    VOICE = "voice"  # same voice as a captioned stretch of this clip
    REGISTRY = "registry"  # a registry voice matched the speaker
    ROLE = "role"  # nobody named: a role guess (anchor, correspondent, «Голос»)


# How a newsroom transcript labels a turn whose speaker has no caption.
ROLE_LABELS_RU = {
    SpeakerRole.ANCHOR: "Ведущий",
    SpeakerRole.CORRESPONDENT: "Корр",
    SpeakerRole.INTERVIEWEE: "Синхрон",
    SpeakerRole.OTHER: "Голос",
}


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str
    probability: float = 1.0
    # What Whisper wrote before the non-word repair replaced it (worker/stages/repair.py);
    # a word split in two or merged with a neighbour carries the whole original in each.
    repaired_from: str | None = None
    # What the recogniser's other beam hypotheses, or its other readings of the audio
    # (worker/stages/vote.py), heard in this word's place (a stretch of one to a few words
    # each), for search only (efir.search.heard): never shown as text, and dropped when
    # an editor changes the word.
    alternatives: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; `repaired_from` and `alternatives` only where set, so older
        readers see no change."""
        data = asdict(self)
        if self.repaired_from is None:
            del data["repaired_from"]
        if self.alternatives:
            data["alternatives"] = list(self.alternatives)
        else:
            del data["alternatives"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Word:
        return cls(
            start=float(data["start"]),
            end=float(data["end"]),
            word=str(data["word"]),
            probability=float(data.get("probability", 1.0)),
            repaired_from=data.get("repaired_from"),
            alternatives=tuple(data.get("alternatives", ())),
        )


@dataclass(frozen=True)
class Speaker:
    id: str
    name: str | None = None
    title: str | None = None
    role: SpeakerRole | None = None
    voice_id: str | None = None

    @property
    def caption(self) -> str | None:
        """The on-screen rendering: "NAME, TITLE", or the role's label."""
        if self.name:
            return f"{self.name}, {self.title}" if self.title else self.name
        if self.role is not None:
            return ROLE_LABELS_RU[self.role]
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "role": self.role.value if self.role else None,
            "voice_id": self.voice_id,
            "caption": self.caption,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Speaker:
        role = data.get("role")
        return cls(
            id=str(data["id"]),
            name=data.get("name"),
            title=data.get("title"),
            role=SpeakerRole(role) if role else None,
            voice_id=data.get("voice_id"),
        )


@dataclass(frozen=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    speaker: str | None = None
    words: tuple[Word, ...] = ()
    speaker_source: SpeakerSource | None = None
    speaker_confidence: float | None = None
    check: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "start": self.start,
            "end": self.end,
            "speaker": self.speaker,
            "text": self.text,
            "words": [word.to_dict() for word in self.words],
        }
        if self.speaker_source is not None:
            data["speaker_source"] = self.speaker_source.value
        if self.speaker_confidence is not None:
            data["speaker_confidence"] = round(self.speaker_confidence, 3)
        if self.check:
            data["check"] = True
        return data

    def confirmed(self) -> Segment:
        """The segment as an editor left it: speaker decided by them, nothing to check."""
        return replace(
            self, speaker_source=SpeakerSource.EDITOR, speaker_confidence=1.0, check=False
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        return cls(
            id=int(data["id"]),
            start=float(data["start"]),
            end=float(data["end"]),
            text=str(data["text"]),
            speaker=data.get("speaker"),
            words=tuple(Word.from_dict(word) for word in data.get("words", ())),
            speaker_source=SpeakerSource(source)
            if (source := data.get("speaker_source"))
            else None,
            speaker_confidence=(
                float(confidence)
                if (confidence := data.get("speaker_confidence")) is not None
                else None
            ),
            check=bool(data.get("check", False)),
        )


@dataclass(frozen=True)
class Transcript:
    duration: float
    language: str
    model: str
    segments: tuple[Segment, ...] = ()
    speakers: tuple[Speaker, ...] = field(default=())

    @property
    def text(self) -> str:
        return " ".join(segment.text for segment in self.segments)

    def speaker(self, speaker_id: str | None) -> Speaker | None:
        return next((s for s in self.speakers if s.id == speaker_id), None)

    def renumbered(self) -> Transcript:
        """Segments sorted by time and numbered 0..n-1, as stages that split or merge need."""
        ordered = sorted(self.segments, key=lambda s: (s.start, s.end))
        return replace(self, segments=tuple(replace(s, id=i) for i, s in enumerate(ordered)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration": self.duration,
            "language": self.language,
            "model": self.model,
            "speakers": [speaker.to_dict() for speaker in self.speakers],
            "segments": [segment.to_dict() for segment in self.segments],
        }

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        return cls(
            duration=float(data["duration"]),
            language=str(data["language"]),
            model=str(data["model"]),
            segments=tuple(Segment.from_dict(s) for s in data.get("segments", ())),
            speakers=tuple(Speaker.from_dict(s) for s in data.get("speakers", ())),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Transcript:
        return cls.from_dict(json.loads(text))
