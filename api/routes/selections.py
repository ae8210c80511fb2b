"""Selections: named rough cuts of quotes from several clips, exported as an EDL, FCP XML
or a DOCX script, or rendered as one MP4 (a cut job, downloaded like any cut)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from api.auth import Principal, require
from api.cut_schemas import (
    CutPublic,
    QuoteCreate,
    QuotePublic,
    ReelCreate,
    SelectionCreate,
    SelectionPublic,
)
from api.deps import CutQueueDep, SessionDep, StorageDep
from api.params import RowId
from efir.accounts.users import Permission
from efir.cuts.jobs import create_reel
from efir.cuts.selections import (
    add_quote,
    create_selection,
    delete_selection,
    get_selection,
    list_selections,
    quote_views,
    remove_quote,
    selection_meta,
)
from efir.cuts.spec import SubtitleMode
from efir.cuts.timeline import TIMELINE_FORMATS, TimelineFormat, render_timeline
from efir.exports.naming import content_disposition, export_filename

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/selections", tags=["cuts"])
EXPORT = require(Permission.EXPORT)


@router.post("", status_code=201, response_model=SelectionPublic)
def new_selection(
    body: SelectionCreate,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.EXPORT)],
) -> SelectionPublic:
    """An empty selection named ``name``."""
    selection = create_selection(session, body.name, created_by=principal.username)
    return _public(session, selection.id)


@router.get("", response_model=list[SelectionPublic], dependencies=[EXPORT])
def all_selections(session: SessionDep) -> list[SelectionPublic]:
    """Every selection (without its quotes), the latest changed first."""
    return [
        SelectionPublic.model_validate(s, from_attributes=True) for s in list_selections(session)
    ]


@router.get("/{selection_id}", response_model=SelectionPublic, dependencies=[EXPORT])
def one_selection(selection_id: str, session: SessionDep) -> SelectionPublic:
    """The selection with its quotes in order, each with its speaker and words."""
    return _public(session, selection_id)


@router.delete("/{selection_id}", status_code=204, dependencies=[EXPORT])
def drop_selection(selection_id: str, session: SessionDep, storage: StorageDep) -> Response:
    """The selection with its quotes and its renderings."""
    delete_selection(session, storage, selection_id)
    return Response(status_code=204)


@router.post(
    "/{selection_id}/quotes", status_code=201, response_model=SelectionPublic, dependencies=[EXPORT]
)
def add_to_selection(selection_id: str, body: QuoteCreate, session: SessionDep) -> SelectionPublic:
    """Append a quote (a span of a clip); 422 for an empty span or one past the clip's end."""
    add_quote(session, selection_id, clip_id=body.clip_id, start_s=body.start_s, end_s=body.end_s)
    return _public(session, selection_id)


@router.delete(
    "/{selection_id}/quotes/{quote_id}", response_model=SelectionPublic, dependencies=[EXPORT]
)
def remove_from_selection(
    selection_id: str, quote_id: RowId, session: SessionDep
) -> SelectionPublic:
    remove_quote(session, selection_id, quote_id)
    return _public(session, selection_id)


@router.get("/{selection_id}/export", dependencies=[EXPORT])
def export_selection(
    selection_id: str,
    session: SessionDep,
    format_name: Annotated[TimelineFormat, Query(alias="format")] = TimelineFormat.EDL,
    fps: Annotated[int, Query(ge=10, le=120)] = 25,
) -> Response:
    """``edl`` (CMX3600), ``fcpxml`` (FCP 7 XML) or ``docx`` (the script), at ``fps``."""
    selection = get_selection(session, selection_id)
    body = render_timeline(format_name, selection.name, quote_views(session, selection_id), fps)
    written = TIMELINE_FORMATS[format_name]
    filename = export_filename(selection_meta(selection), written.extension)
    return Response(
        body,
        media_type=written.media_type,
        headers={"Content-Disposition": content_disposition(filename)},
    )


@router.post("/{selection_id}/render", status_code=202, response_model=CutPublic)
def render_selection(
    selection_id: str,
    session: SessionDep,
    queue: CutQueueDep,
    principal: Annotated[Principal, require(Permission.EXPORT)],
    body: ReelCreate | None = None,
) -> CutPublic:
    """Queue one MP4 of the whole selection, ``{"subtitles": "burn"}`` with each quote's
    subtitles drawn in; follow it at ``/api/v1/cuts/{id}``."""
    subtitles = SubtitleMode((body or ReelCreate()).subtitles)
    cut = create_reel(session, selection_id, requested_by=principal.username, subtitles=subtitles)
    queue.send_cut(cut.id)
    return CutPublic.of(cut)


def _public(session: Session, selection_id: str) -> SelectionPublic:
    selection = get_selection(session, selection_id)
    public = SelectionPublic.model_validate(selection, from_attributes=True)
    public.quotes = [
        QuotePublic.model_validate(view.quote).model_copy(
            update={"clip_title": view.clip.title, "speaker": view.speaker, "text": view.text}
        )
        for view in quote_views(session, selection_id)
    ]
    return public
