"""What the HTTP API returns and accepts; routes return these, never ORM rows."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
    model_validator,
)

from efir.db import JobState
from efir.exports import CueRules, Violation
from efir.glossary import MAX_GLOSSARY_TERMS
from efir.jobs.lifecycle import JobPriority
from efir.transcripts.edits import (
    ConfirmSpeaker,
    EditOp,
    MergeSegments,
    RenameSpeaker,
    ReplaceWord,
    SetBounds,
    SetSpeaker,
    SetText,
    SplitSegment,
)
from efir.transcripts.model import SpeakerRole

__all__ = [
    "ClipPublic",
    "ClipUpdate",
    "EditOpRequest",
    "EditRequest",
    "JobPriorityRequest",
    "JobPublic",
    "JobsPublic",
    "LibraryClipPublic",
    "RevisionPublic",
    "SpeakerVoiceRequest",
    "VoiceAppliedPublic",
    "VoiceMergeRequest",
    "VoicePublic",
    "VoiceUpdate",
]


class JobPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    clip_id: str
    state: JobState
    progress: float
    error: str | None
    created_at: datetime
    updated_at: datetime
    # Read from the job row only to derive ``priority``; not part of the response.
    options: dict[str, Any] = Field(default_factory=dict, exclude=True)
    # Seconds left, from speeds measured here (efir.jobs.eta); null while unknown.
    eta_s: float | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def priority(self) -> JobPriority:
        try:
            return JobPriority(self.options.get("priority", JobPriority.NORMAL))
        except ValueError:
            return JobPriority.NORMAL

    @computed_field  # type: ignore[prop-decorator]
    @property
    def readings(self) -> int | None:
        """How many times the uploader had the audio read and voted; null: EFIR_READINGS."""
        readings = self.options.get("readings")
        return readings if isinstance(readings, int) else None


class JobPriorityRequest(BaseModel):
    priority: JobPriority


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int


class ClipPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    sha256: str
    original_filename: str
    size_bytes: int
    duration_s: float | None
    has_video: bool
    title: str | None
    programme: str | None
    channel: str | None
    air_date: date | None
    tags: list[str]
    created_at: datetime
    # None for clips uploaded in local mode or before accounts existed.
    uploaded_by_user_id: int | None = None
    # Set once the retention setting removed the media; the transcript stays.
    media_removed_at: datetime | None = None


class LibraryClipPublic(ClipPublic):
    """A clip in the library list, with its newest job."""

    job_id: str | None = None
    state: JobState | None = None


class ClipUpdate(BaseModel):
    """Metadata corrected after upload; a field left out stays, null or "" clears it."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, max_length=500)
    programme: str | None = Field(default=None, max_length=200)
    channel: str | None = Field(default=None, max_length=200)
    air_date: date | None = None


# No control characters (a line break would make two terms of one), and not blank.
_PRINTABLE = r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$"
ProgrammeName = Annotated[str, Field(max_length=200, pattern=_PRINTABLE)]
GlossaryTerm = Annotated[str, Field(max_length=300, pattern=_PRINTABLE)]


class ProgrammeGlossaryPublic(BaseModel):
    """A programme's glossary (efir.programme_glossary): the terms put before a clip's own
    in the glossary of every clip uploaded under the programme."""

    programme: str
    terms: list[str]


class ProgrammeGlossaryUpdate(BaseModel):
    """The programme's whole glossary, replacing what it held; no terms empties it."""

    model_config = ConfigDict(extra="forbid")
    programme: ProgrammeName
    terms: list[GlossaryTerm] = Field(max_length=MAX_GLOSSARY_TERMS)


class RevisionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    revision: int
    author: str | None
    note: str | None
    created_at: datetime


NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
SegmentId = Annotated[int, Field(strict=True, ge=0)]


class QcViolationPublic(BaseModel):
    cue: int  # 1-based, as numbered in the SRT
    start: float
    end: float
    timecode: str  # hh:mm:ss:ff
    rule: str  # reading_speed, min_duration, max_duration, line_length, line_count, gap,
    # shot_change_in, shot_change_out
    # Counts (line length, line count) stay integers; times and speeds are floats.
    value: int | float
    limit: int | float
    text: str
    reason_ru: str
    reason_en: str


class QcReportPublic(BaseModel):
    clip_id: str
    revision: int
    format: str
    rules: dict[str, int | float]  # the rules applied, the format's own limits included
    shots_known: bool  # False: the shot-change rule could not be checked (no video data)
    violations: list[QcViolationPublic]

    @classmethod
    def from_check(
        cls,
        clip_id: str,
        revision: int,
        fmt: str,
        rules: CueRules,
        violations: list[Violation],
        *,
        shots_known: bool,
    ) -> QcReportPublic:
        return cls(
            clip_id=clip_id,
            revision=revision,
            format=fmt,
            rules=asdict(rules),
            shots_known=shots_known,
            violations=[
                QcViolationPublic(
                    **{f.name: getattr(v, f.name) for f in fields(v)},
                    reason_ru=v.reason_ru,
                    reason_en=v.reason_en,
                )
                for v in violations
            ],
        )


class _EditOpModel(BaseModel):
    """One edit of a PATCH: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class SetTextOp(_EditOpModel):
    """Retype a segment; its words are re-aligned to the old word times."""

    op: Literal["set_text"]
    segment_id: SegmentId
    text: NonBlank

    def to_edit(self) -> EditOp:
        return SetText(self.segment_id, self.text)


class SetSpeakerOp(_EditOpModel):
    """Give a segment to another speaker (a new id adds that speaker)."""

    op: Literal["set_speaker"]
    segment_id: SegmentId
    speaker_id: NonBlank

    def to_edit(self) -> EditOp:
        return SetSpeaker(self.segment_id, self.speaker_id)


class ConfirmSpeakerOp(_EditOpModel):
    """The editor checked who speaks a segment and agrees: its ``check`` flag goes."""

    op: Literal["confirm_speaker"]
    segment_id: SegmentId

    def to_edit(self) -> EditOp:
        return ConfirmSpeaker(self.segment_id)


class RenameSpeakerOp(_EditOpModel):
    """Change a speaker's name, title or role; a field left out stays, null clears it."""

    op: Literal["rename_speaker"]
    speaker_id: NonBlank
    name: Annotated[str, StringConstraints(strip_whitespace=True)] | None = None
    title: Annotated[str, StringConstraints(strip_whitespace=True)] | None = None
    role: SpeakerRole | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> RenameSpeakerOp:
        if not self.model_fields_set & {"name", "title", "role"}:
            raise ValueError("rename_speaker must give at least one of name, title, role")
        return self

    def to_edit(self) -> EditOp:
        given = [field for field in ("name", "title", "role") if field in self.model_fields_set]
        # An empty name or title clears it, as null does.
        return RenameSpeaker(
            self.speaker_id, tuple((field, getattr(self, field) or None) for field in given)
        )


class SplitOp(_EditOpModel):
    """Split a segment before word ``at_word`` (counted from 0)."""

    op: Literal["split"]
    segment_id: SegmentId
    at_word: Annotated[int, Field(strict=True)]

    def to_edit(self) -> EditOp:
        return SplitSegment(self.segment_id, self.at_word)


class MergeOp(_EditOpModel):
    """Merge consecutive segments into the first; ``speaker_id`` says whose the text is,
    and must be given when the segments have different speakers."""

    op: Literal["merge"]
    segment_ids: Annotated[list[SegmentId], Field(min_length=2)]
    speaker_id: NonBlank | None = None

    def to_edit(self) -> EditOp:
        return MergeSegments(tuple(self.segment_ids), self.speaker_id)


class ReplaceWordOp(_EditOpModel):
    """Replace every form of a word in the whole transcript with the same form of another
    («Спарова» → «Спанова»); word times stay. One revision for all of them."""

    op: Literal["replace_word"]
    find: NonBlank
    replace: NonBlank
    # The replacement also joins the clip's glossary, for the next run over it.
    add_to_glossary: bool = False

    def to_edit(self) -> EditOp:
        return ReplaceWord(self.find, self.replace)


class SetBoundsOp(_EditOpModel):
    """Retime a segment to [start, end] seconds (a boundary dragged on the waveform); its
    words stretch with it; it may not overlap its neighbours."""

    op: Literal["set_bounds"]
    segment_id: SegmentId
    start: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    end: Annotated[float, Field(gt=0, allow_inf_nan=False)]

    def to_edit(self) -> EditOp:
        return SetBounds(self.segment_id, self.start, self.end)


EditOpRequest = Annotated[
    SetTextOp
    | SetSpeakerOp
    | ConfirmSpeakerOp
    | RenameSpeakerOp
    | SplitOp
    | MergeOp
    | ReplaceWordOp
    | SetBoundsOp,
    Field(discriminator="op"),
]


class EditRequest(BaseModel):
    base_revision: int = Field(ge=1)
    ops: list[EditOpRequest] = Field(min_length=1)

    def edits(self) -> list[EditOp]:
        return [op.to_edit() for op in self.ops]

    def glossary_terms(self) -> list[str]:
        """Replacements to add to the clip's glossary."""
        return [
            op.replace for op in self.ops if isinstance(op, ReplaceWordOp) and op.add_to_glossary
        ]


class VoicePublic(BaseModel):
    """A registry voice; `samples` is the seconds of speech its centroid was learned from."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    title: str | None
    role: SpeakerRole | None
    samples: int
    created_at: datetime
    updated_at: datetime
    # How many clips it learned from (GET /api/v1/voices/{id}/clips lists them).
    clip_count: int = 0


class VoiceClipPublic(BaseModel):
    """A clip a voice learned from, and the seconds of speech it gave."""

    clip_id: str
    title: str | None
    seconds: int


class VoiceUpdate(BaseModel):
    """Fields left out (or null) keep their value."""

    name: str | None = Field(default=None, min_length=1, max_length=300)
    title: str | None = Field(default=None, max_length=500)
    role: SpeakerRole | None = None


class VoiceAppliedPublic(BaseModel):
    """The clips that got a new revision naming the voice as the registry does."""

    clip_ids: list[str]


class VoiceMergeRequest(BaseModel):
    other_id: str = Field(min_length=1, max_length=32)


class SpeakerVoiceRequest(BaseModel):
    voice_id: str = Field(min_length=1, max_length=32)
