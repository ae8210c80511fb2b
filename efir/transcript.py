"""The transcript model: the one currency every part of efir speaks.

Times are seconds on the original clip's timeline. The JSON form is the public
contract of the API and the CLI::

    {"duration", "language", "model", "speakers": [...],
     "segments": [{"id", "start", "end", "speaker", "text",
                   "words": [{"start", "end", "word", "probability",
                              "repaired_from" (only on repaired words)}]}]}
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

__all__ = ["Role", "Segment", "Speaker", "Transcript", "Word"]


class Role(StrEnum):
    ANCHOR = "anchor"
    CORRESPONDENT = "correspondent"
    INTERVIEWEE = "interviewee"
    OTHER = "other"


# How a newsroom transcript labels a turn whose speaker has no caption.
ROLE_LABELS_RU = {
    Role.ANCHOR: "Ведущий",
    Role.CORRESPONDENT: "Корр",
    Role.INTERVIEWEE: "Синхрон",
    Role.OTHER: "Голос",
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

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; `repaired_from` only where set, so older readers see no change."""
        data = asdict(self)
        if self.repaired_from is None:
            del data["repaired_from"]
        return data


@dataclass(frozen=True)
class Speaker:
    id: str
    name: str | None = None
    title: str | None = None
    role: Role | None = None
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
            role=Role(role) if role else None,
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "start": self.start,
            "end": self.end,
            "speaker": self.speaker,
            "text": self.text,
            "words": [word.to_dict() for word in self.words],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        return cls(
            id=int(data["id"]),
            start=float(data["start"]),
            end=float(data["end"]),
            text=str(data["text"]),
            speaker=data.get("speaker"),
            words=tuple(Word(**word) for word in data.get("words", ())),
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
