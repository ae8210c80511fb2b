"""What search takes from a clip and gives back: plain records, JSON-ready."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

__all__ = [
    "ClipHits",
    "ClipMeta",
    "Match",
    "Ranking",
    "SearchHit",
    "SearchPage",
    "clip_url",
    "media_url",
]

# "bm25": every match ranked. "recent-first": the query matched more segments than
# are ranked, so only the most recently indexed of them were (see efir.search.searching).
Ranking = Literal["bm25", "recent-first"]
# "exact": by the query's lemmas. "sounds_like": only through a word heard
# differently (efir.search.fuzzy); such hits follow every exact one.
Match = Literal["exact", "sounds_like"]


@dataclass(frozen=True)
class ClipMeta:
    """The clip fields copied into every indexed segment, for filters and display."""

    clip_id: str
    title: str | None = None
    programme: str | None = None
    channel: str | None = None
    air_date: date | None = None

    @classmethod
    def from_clip(cls, clip: Any) -> ClipMeta:
        """From any object with the `clips` row attributes (id, title, programme, …)."""
        return cls(
            clip_id=str(clip.id),
            title=getattr(clip, "title", None),
            programme=getattr(clip, "programme", None),
            channel=getattr(clip, "channel", None),
            air_date=getattr(clip, "air_date", None),
        )


def _seconds(start: float) -> str:
    return f"{start:.2f}".rstrip("0").rstrip(".")


def clip_url(clip_id: str, start: float) -> str:
    """The UI page of a clip, opened at the given second."""
    return f"/clips/{clip_id}?t={_seconds(start)}"


def media_url(clip_id: str, start: float) -> str:
    """The clip's media with a W3C media fragment, so a bare player seeks too."""
    return f"/api/v1/clips/{clip_id}/media#t={_seconds(start)}"


@dataclass(frozen=True)
class SearchHit:
    clip_id: str
    segment_id: int
    start: float
    end: float
    speaker_id: str | None
    voice_id: str | None
    speaker_caption: str | None
    role: str | None
    text: str
    # The text HTML-escaped, matched words wrapped in <mark>…</mark>.
    snippet: str
    score: float
    url: str
    media_url: str
    match: Match = "exact"
    # For "sounds_like": the transcript's word(s) that matched in place of the query's.
    heard: str | None = None


@dataclass(frozen=True)
class ClipHits:
    clip_id: str
    title: str | None
    programme: str | None
    channel: str | None
    air_date: date | None
    hits: list[SearchHit] = field(default_factory=list)


@dataclass(frozen=True)
class SearchPage:
    """One page of hits in rank order, grouped by clip in order of each clip's best hit."""

    query: str
    clips: list[ClipHits]
    hit_count: int
    next_cursor: str | None
    ranking: Ranking = "bm25"

    @property
    def hits(self) -> list[SearchHit]:
        return [hit for group in self.clips for hit in group.hits]
