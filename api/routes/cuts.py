"""Cuts: a quote cut out of a clip as a job on the worker queue, its state, its file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse

from api.auth import Principal, require
from api.cut_schemas import CutCreate, CutPublic
from api.deps import CutQueueDep, SessionDep, StorageDep
from api.media_response import MEDIA_HEADERS, ranged_media_response
from efir.accounts.users import Permission
from efir.cuts.jobs import create_cut, cut_filename, get_cut, list_cuts
from efir.cuts.selections import get_selection, selection_meta
from efir.cuts.spec import CutFormat
from efir.db import Cut, CutState
from efir.errors import NotFoundError
from efir.exports import export_format
from efir.exports.naming import content_disposition, export_filename
from efir.media.clips import get_clip
from efir.search.models import ClipMeta

__all__ = ["router"]

router = APIRouter(tags=["cuts"])


@router.post("/api/v1/clips/{clip_id}/cuts", status_code=202, response_model=CutPublic)
def cut_clip(
    clip_id: str,
    body: CutCreate,
    session: SessionDep,
    queue: CutQueueDep,
    principal: Annotated[Principal, require(Permission.EXPORT)],
) -> CutPublic:
    """Queue a cut of the clip's media (MP4, MP3 or WAV) with subtitles burned in, as an
    SRT beside it, or none; 422 for a span the media cannot give."""
    cut = create_cut(session, clip_id, body.request(), requested_by=principal.username)
    queue.send_cut(cut.id)
    return CutPublic.of(cut)


@router.get(
    "/api/v1/clips/{clip_id}/cuts",
    response_model=list[CutPublic],
    dependencies=[require(Permission.EXPORT)],
)
def clip_cuts(clip_id: str, session: SessionDep) -> list[CutPublic]:
    """The clip's cuts, newest first."""
    get_clip(session, clip_id)
    return [CutPublic.of(cut) for cut in list_cuts(session, clip_id)]


@router.get(
    "/api/v1/cuts/{cut_id}", response_model=CutPublic, dependencies=[require(Permission.EXPORT)]
)
def cut_state(cut_id: str, session: SessionDep) -> CutPublic:
    """State (queued, running, done, failed) and progress 0..1."""
    return CutPublic.of(get_cut(session, cut_id))


@router.get("/api/v1/cuts/{cut_id}/file", dependencies=[require(Permission.EXPORT)])
def cut_file(cut_id: str, request: Request, session: SessionDep, storage: StorageDep) -> Response:
    """The cut's media, named after its clip and in point; 409 until it is done, 404 once
    retention removed it."""
    cut = _done(session, cut_id)
    if cut.media_key is None:
        raise NotFoundError(
            "Медиафайл нарезки удалён по сроку хранения. "
            "The cut's media was removed by the retention setting."
        )
    fmt = CutFormat(cut.spec.get("format", "mp4"))
    return _download(
        storage, request, cut.media_key, fmt.media_type, _filename(session, cut, fmt.value)
    )


@router.get("/api/v1/cuts/{cut_id}/subtitles", dependencies=[require(Permission.EXPORT)])
def cut_subtitles(
    cut_id: str, request: Request, session: SessionDep, storage: StorageDep
) -> Response:
    """The sidecar subtitles (SRT, WebVTT or TTML) of a cut asked with ``subtitles:
    sidecar``, timed from its start."""
    cut = _done(session, cut_id)
    if cut.subtitles_key is None:
        raise HTTPException(
            404, "У этой нарезки нет субтитров отдельным файлом. This cut has no sidecar subtitles."
        )
    written = export_format(str(cut.spec.get("sidecar", "srt")))
    return _download(
        storage,
        request,
        cut.subtitles_key,
        written.media_type,
        _filename(session, cut, written.extension),
    )


def _done(session: SessionDep, cut_id: str) -> Cut:
    cut = get_cut(session, cut_id)
    if cut.state is not CutState.DONE:
        raise HTTPException(
            409, f"Нарезка ещё не готова ({cut.state}). The cut is not ready ({cut.state})."
        )
    return cut


def _filename(session: SessionDep, cut: Cut, extension: str) -> str:
    if cut.selection_id is not None:
        return export_filename(selection_meta(get_selection(session, cut.selection_id)), extension)
    in_s = float((cut.result or {}).get("in_s", 0.0))
    return cut_filename(ClipMeta.from_clip(get_clip(session, cut.clip_id or "")), in_s, extension)


def _download(
    storage: StorageDep, request: Request, key: str, media_type: str, filename: str
) -> Response:
    headers = {**MEDIA_HEADERS, "Content-Disposition": content_disposition(filename)}
    path = storage.path_for(key)
    if path is not None:
        return FileResponse(path, media_type=media_type, headers=headers)
    return ranged_media_response(
        storage.open(key),
        media_type=media_type,
        range_header=request.headers.get("range"),
        headers=headers,
    )
