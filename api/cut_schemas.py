"""What the cut and selection routes accept and return (efir.cuts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from efir.cuts.spec import DEFAULT_HANDLE_S, CutFormat, CutRequest, SubtitleMode
from efir.db import CutState

__all__ = [
    "CutCreate",
    "CutPublic",
    "QuoteCreate",
    "QuotePublic",
    "ReelCreate",
    "SelectionCreate",
    "SelectionPublic",
]


class CutCreate(BaseModel):
    """A quote to cut: ``start_s``/``end_s`` or ``segment_ids``; snapped to word edges."""

    start_s: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    end_s: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    segment_ids: list[int] = Field(default_factory=list, max_length=10_000)
    handle_s: float = Field(default=DEFAULT_HANDLE_S, allow_inf_nan=False)
    format: CutFormat = CutFormat.MP4
    subtitles: SubtitleMode = SubtitleMode.NONE
    lower_third: bool = False
    revision: int | None = Field(default=None, ge=1)
    sidecar: Literal["srt", "vtt", "ttml"] = "srt"
    # Subtitle rule overrides, as on exports: {"max_chars_per_line": 32, "max_cps": 15}.
    rules: dict[str, float] = Field(default_factory=dict, max_length=20)

    def request(self) -> CutRequest:
        return CutRequest(
            start_s=self.start_s,
            end_s=self.end_s,
            segment_ids=tuple(self.segment_ids),
            handle_s=self.handle_s,
            format=self.format,
            subtitles=self.subtitles,
            lower_third=self.lower_third,
            revision=self.revision,
            sidecar=self.sidecar,
            rules=tuple(self.rules.items()),
        )


class ReelCreate(BaseModel):
    """How to render a selection as one MP4: its quotes' subtitles burned, or none."""

    subtitles: Literal["burn", "none"] = "none"


class CutPublic(BaseModel):
    """A cut job; ``result`` (once done): in and out points on the clip, frames, fps."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    clip_id: str | None
    selection_id: str | None
    state: CutState
    progress: float
    error: str | None
    spec: dict[str, Any]
    result: dict[str, Any] | None
    created_at: datetime
    finished_at: datetime | None
    file_url: str | None = None
    subtitles_url: str | None = None

    @classmethod
    def of(cls, cut: Any) -> CutPublic:
        public = cls.model_validate(cut)
        if cut.state is CutState.DONE:
            if cut.media_key:  # None once retention removed it
                public.file_url = f"/api/v1/cuts/{cut.id}/file"
            if cut.subtitles_key:
                public.subtitles_url = f"/api/v1/cuts/{cut.id}/subtitles"
        return public


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class SelectionCreate(BaseModel):
    name: Name


class QuoteCreate(BaseModel):
    clip_id: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    start_s: float = Field(ge=0, allow_inf_nan=False)
    end_s: float = Field(gt=0, allow_inf_nan=False)


class QuotePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    position: int
    clip_id: str
    start_s: float
    end_s: float
    clip_title: str | None = None
    speaker: str | None = None
    text: str = ""


class SelectionPublic(BaseModel):
    id: str
    name: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    quotes: list[QuotePublic] = Field(default_factory=list)
