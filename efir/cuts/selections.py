"""Selections: a named rough cut of quotes from any clips, in the order they were added.

A quote is a span of a clip's timeline (seconds, as the editor selects words); what it
says and who says it are read from the clip's current transcript when exported, so a
corrected transcript corrects the script too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from efir.cuts.spec import cropped_transcript
from efir.db import Clip, Cut, Selection, SelectionQuote, utcnow
from efir.errors import InvalidCutError, NotFoundError
from efir.media.clips import get_clip
from efir.media.storage.base import MediaStorage
from efir.search.models import ClipMeta
from efir.transcripts.model import Transcript
from efir.transcripts.revisions import latest_revision

__all__ = [
    "MAX_QUOTES",
    "QuoteView",
    "add_quote",
    "create_selection",
    "delete_selection",
    "get_selection",
    "list_selections",
    "quote_views",
    "remove_quote",
    "selection_meta",
    "selection_quotes",
]

MAX_QUOTES = 200


@dataclass(frozen=True)
class QuoteView:
    """A quote with what an export shows of it: the clip, the speaker and the words."""

    quote: SelectionQuote
    clip: Clip
    speaker: str | None
    text: str


def create_selection(session: Session, name: str, *, created_by: str) -> Selection:
    selection = Selection(name=name.strip(), created_by=created_by)
    session.add(selection)
    session.commit()
    return selection


def list_selections(session: Session) -> Sequence[Selection]:
    """Every selection, the latest changed first."""
    return session.scalars(select(Selection).order_by(Selection.updated_at.desc())).all()


def get_selection(session: Session, selection_id: str) -> Selection:
    selection = session.get(Selection, selection_id)
    if selection is None:
        raise NotFoundError(
            f"Подборка {selection_id} не найдена. Selection {selection_id} not found."
        )
    return selection


def selection_meta(selection: Selection) -> ClipMeta:
    """What names a selection's files (efir.exports.naming): its name."""
    return ClipMeta(clip_id=selection.id, title=selection.name)


def delete_selection(session: Session, storage: MediaStorage, selection_id: str) -> None:
    """The selection, its quotes and its renderings (rows and files)."""
    selection = get_selection(session, selection_id)
    files = session.execute(
        select(Cut.media_key).where(Cut.selection_id == selection_id, Cut.media_key.is_not(None))
    ).scalars()
    keys = {key for key in files if key}
    session.delete(selection)
    session.commit()
    for key in keys:
        storage.delete(key)


def selection_quotes(session: Session, selection_id: str) -> Sequence[SelectionQuote]:
    return session.scalars(
        select(SelectionQuote)
        .where(SelectionQuote.selection_id == selection_id)
        .order_by(SelectionQuote.position)
    ).all()


def add_quote(
    session: Session, selection_id: str, *, clip_id: str, start_s: float, end_s: float
) -> SelectionQuote:
    """Append a quote; InvalidCutError for an empty span or one past the clip's end."""
    selection = get_selection(session, selection_id)
    clip = get_clip(session, clip_id)
    if start_s >= end_s:
        raise InvalidCutError(
            f"Начало ({start_s:g} с) должно быть раньше конца ({end_s:g} с). "
            f"The start ({start_s:g} s) must come before the end ({end_s:g} s)."
        )
    if clip.duration_s is not None and end_s > clip.duration_s + 0.5:
        raise InvalidCutError(
            f"Конец ({end_s:g} с) за концом записи ({clip.duration_s:.2f} с). "
            f"The end ({end_s:g} s) is past the end of the media ({clip.duration_s:.2f} s)."
        )
    last = session.scalar(
        select(func.max(SelectionQuote.position)).where(SelectionQuote.selection_id == selection_id)
    )
    if last is not None and last + 1 >= MAX_QUOTES:
        raise InvalidCutError(
            f"В подборке не больше {MAX_QUOTES} цитат. "
            f"A selection holds {MAX_QUOTES} quotes at most."
        )
    quote = SelectionQuote(
        selection_id=selection_id,
        position=0 if last is None else last + 1,
        clip_id=clip_id,
        start_s=start_s,
        end_s=min(end_s, clip.duration_s or end_s),
    )
    session.add(quote)
    selection.updated_at = utcnow()
    session.commit()
    return quote


def remove_quote(session: Session, selection_id: str, quote_id: int) -> None:
    selection = get_selection(session, selection_id)
    quote = session.get(SelectionQuote, quote_id)
    if quote is None or quote.selection_id != selection_id:
        raise NotFoundError(
            f"В подборке нет цитаты {quote_id}. The selection has no quote {quote_id}."
        )
    session.delete(quote)
    selection.updated_at = utcnow()
    session.commit()


def quote_views(session: Session, selection_id: str) -> list[QuoteView]:
    """The selection's quotes in order, each with its speaker and words (from the clip's
    current transcript; none for a clip not transcribed yet)."""
    views = []
    transcripts: dict[str, Transcript | None] = {}
    for quote in selection_quotes(session, selection_id):
        clip = get_clip(session, quote.clip_id)
        if clip.id not in transcripts:
            transcripts[clip.id] = _current(session, clip.id)
        transcript = transcripts[clip.id]
        speaker, text = None, ""
        if transcript is not None:
            inside = cropped_transcript(transcript, quote.start_s, quote.end_s)
            text = " ".join(s.text for s in inside.segments)
            if inside.segments:
                found = transcript.speaker(inside.segments[0].speaker)
                speaker = found.caption if found else None
        views.append(QuoteView(quote, clip, speaker, text))
    return views


def _current(session: Session, clip_id: str) -> Transcript | None:
    try:
        return Transcript.from_dict(latest_revision(session, clip_id).data)
    except NotFoundError:
        return None
