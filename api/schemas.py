"""What the HTTP API returns and accepts; routes return these, never ORM rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from efir.db import JobState
from efir.jobs import JobPriority
from efir.transcript import Role

__all__ = [
    "ClipPublic",
    "EditRequest",
    "JobPriorityRequest",
    "JobPublic",
    "JobsPublic",
    "RevisionPublic",
    "SpeakerVoiceRequest",
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

    @computed_field  # type: ignore[prop-decorator]
    @property
    def priority(self) -> JobPriority:
        try:
            return JobPriority(self.options.get("priority", JobPriority.NORMAL))
        except ValueError:
            return JobPriority.NORMAL


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


class RevisionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    revision: int
    author: str | None
    note: str | None
    created_at: datetime


class EditRequest(BaseModel):
    base_revision: int = Field(ge=1)
    ops: list[dict[str, Any]] = Field(min_length=1)
    author: str | None = Field(default=None, max_length=200)


class VoicePublic(BaseModel):
    """A registry voice; `samples` is the seconds of speech its centroid was learned from."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    title: str | None
    role: Role | None
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
    role: Role | None = None


class VoiceMergeRequest(BaseModel):
    other_id: str = Field(min_length=1, max_length=32)


class SpeakerVoiceRequest(BaseModel):
    voice_id: str = Field(min_length=1, max_length=32)
    author: str | None = Field(default=None, max_length=200)
