"""Clips: upload (streamed, probed, content-addressed, queued), metadata, the media itself."""

from __future__ import annotations

import mimetypes
from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy import select

from api.auth import Principal, require
from api.deps import JobQueueDep, SessionDep, SettingsDep, StorageDep
from api.intake import ingest_staged
from api.media_response import ranged_media_response
from api.multipart import receive_media
from api.params import PageLimit, PageOffset
from api.schemas import ClipPublic, JobPublic
from efir.accounts.users import Permission
from efir.db import Clip
from efir.errors import NotFoundError
from efir.media import clips as clip_store

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/clips", tags=["clips"])


@router.post("", status_code=202, response_model=JobPublic)
async def upload_clip(
    request: Request,
    settings: SettingsDep,
    storage: StorageDep,
    queue: JobQueueDep,
    uploader: Annotated[Principal, require(Permission.UPLOAD, new_upload=True)],
) -> JobPublic:
    """Upload a clip (multipart ``file`` plus optional metadata and ``priority``
    ``normal``|``urgent``); returns its queued job."""
    staged, filename, form = await receive_media(request, settings, storage)
    job = await ingest_staged(
        staged=staged,
        filename=filename,
        fields=form.fields,
        settings=settings,
        storage=storage,
        sessions=request.app.state.sessions,
        queue=queue,
        uploader=uploader,
    )
    return JobPublic.model_validate(job)


@router.get("", response_model=list[ClipPublic], dependencies=[require(Permission.READ)])
def list_clips(
    session: SessionDep, limit: PageLimit = 50, offset: PageOffset = 0
) -> list[ClipPublic]:
    clips = session.scalars(
        select(Clip).order_by(Clip.created_at.desc()).limit(min(limit, 500)).offset(offset)
    )
    return [ClipPublic.model_validate(clip) for clip in clips]


@router.get("/{clip_id}", response_model=ClipPublic, dependencies=[require(Permission.READ)])
def get_clip(clip_id: str, session: SessionDep) -> ClipPublic:
    return ClipPublic.model_validate(clip_store.get_clip(session, clip_id))


@router.get("/{clip_id}/media", dependencies=[require(Permission.READ)])
def get_clip_media(
    clip_id: str, request: Request, session: SessionDep, storage: StorageDep
) -> Response:
    """The original upload, with HTTP Range support for the player: sent from the
    API's disk when local, streamed from the bucket when in S3."""
    clip = clip_store.get_clip(session, clip_id)
    media_type = mimetypes.guess_type(clip.original_filename)[0] or "application/octet-stream"
    path = storage.path_for(clip.media_key)
    if path is not None:
        return FileResponse(path, media_type=media_type)
    try:
        media = storage.open(clip.media_key)
    except NotFoundError:
        raise NotFoundError(
            f"Медиафайл клипа {clip_id} отсутствует. The clip's media is missing."
        ) from None
    return ranged_media_response(
        media, media_type=media_type, range_header=request.headers.get("range")
    )
