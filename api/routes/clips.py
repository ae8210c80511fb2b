"""Clips: upload (streamed, probed, content-addressed, queued), metadata, the media itself."""

from __future__ import annotations

import gzip
import json
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse

from api.auth import Principal, require
from api.deps import JobQueueDep, SessionDep, SettingsDep, StorageDep
from api.intake import ingest_staged
from api.media_response import MEDIA_HEADERS, ranged_media_response
from api.multipart import receive_media
from api.params import PageLimit, PageOffset
from api.schemas import ClipPublic, ClipUpdate, JobPublic, LibraryClipPublic
from efir.accounts.users import AccountRole, Permission
from efir.db import Clip, Job, JobState
from efir.errors import NotFoundError
from efir.media import clips as clip_store
from efir.media.analyses import PEAKS, load_analysis
from efir.media.library import (
    LibraryQuery,
    LibrarySort,
    delete_clip,
    latest_jobs,
    list_library,
    suggest_values,
    update_clip,
)
from efir.media.probe import UNKNOWN_MEDIA_TYPE

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


@router.get("", dependencies=[require(Permission.READ)])
def list_clips(
    session: SessionDep,
    response: Response,
    programme: str | None = None,
    channel: str | None = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    speaker: str | None = None,
    state: JobState | None = None,
    sort: LibrarySort = "created",
    order: Literal["asc", "desc"] = "desc",
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> list[LibraryClipPublic]:
    """The library: every clip, newest first unless ``sort``/``order`` say otherwise,
    filtered by programme and channel (any case), air date, speaker caption and the
    state of its newest job. ``X-Total-Count`` gives how many match in all."""
    page = list_library(
        session,
        LibraryQuery(
            programme=programme,
            channel=channel,
            date_from=date_from,
            date_to=date_to,
            speaker=speaker,
            state=state,
            sort=sort,
            descending=order == "desc",
            limit=min(limit, 500),
            offset=offset,
        ),
    )
    response.headers["X-Total-Count"] = str(page.total)
    jobs = latest_jobs(session, [clip.id for clip in page.clips])
    return [_library_entry(clip, jobs.get(clip.id)) for clip in page.clips]


@router.get("/suggestions", dependencies=[require(Permission.READ)])
def suggest(
    session: SessionDep,
    field: Literal["programme", "channel"],
    q: Annotated[str, Query(max_length=200)] = "",
) -> list[str]:
    """Programme or channel names already in the archive that contain ``q`` (any case)."""
    return suggest_values(session, field, q)


@router.get("/{clip_id}", response_model=ClipPublic, dependencies=[require(Permission.READ)])
def get_clip(clip_id: str, session: SessionDep) -> ClipPublic:
    return ClipPublic.model_validate(clip_store.get_clip(session, clip_id))


@router.patch("/{clip_id}", response_model=ClipPublic, dependencies=[require(Permission.EDIT)])
def edit_clip(clip_id: str, changes: ClipUpdate, session: SessionDep) -> ClipPublic:
    """Correct the title, programme, channel or air date; search shows it at once."""
    clip = update_clip(session, clip_id, changes.model_dump(exclude_unset=True))
    return ClipPublic.model_validate(clip)


@router.delete("/{clip_id}", status_code=204)
def remove_clip(
    clip_id: str,
    session: SessionDep,
    storage: StorageDep,
    principal: Annotated[Principal, require(Permission.UPLOAD)],
) -> Response:
    """Delete a clip with its media, jobs, revisions, search rows and voiceprints; only
    its uploader or an admin may. Recorded in the audit log."""
    clip = clip_store.get_clip(session, clip_id)
    if principal.role is not AccountRole.ADMIN and (
        principal.user_id is None or principal.user_id != clip.uploaded_by_user_id
    ):
        raise HTTPException(
            403,
            "Удалить сюжет может только тот, кто его загрузил, или администратор. "
            "Only the clip's uploader or an admin may delete it.",
        )
    delete_clip(session, storage, clip_id, actor=principal.username)
    return Response(status_code=204)


@router.get("/{clip_id}/peaks", dependencies=[require(Permission.READ)])
def get_clip_peaks(clip_id: str, request: Request, session: SessionDep) -> Response:
    """The editor's waveform: ``{"bucket_s", "scale", "peaks"}``, the loudest sample of
    every ``bucket_s`` of the audio times ``scale``, measured once by the worker; 404 for
    a clip transcribed before the worker measured them."""
    clip_store.get_clip(session, clip_id)
    peaks = load_analysis(session, clip_id, PEAKS)
    if peaks is None:
        raise NotFoundError(
            f"Волновая форма сюжета {clip_id} не измерена. "
            f"The clip {clip_id} has no waveform measured."
        )
    # Written as is: an hour is 360,000 ints, too many for per-item encoding. As JSON
    # that is ~1 MB; gzipped a third of it (seed's peaks: 40.8 kB -> 13.6 kB).
    body = json.dumps(peaks, separators=(",", ":")).encode()
    headers = {"Cache-Control": "private", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        body = gzip.compress(body, compresslevel=6)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


@router.get("/{clip_id}/media", dependencies=[require(Permission.READ)])
def get_clip_media(
    clip_id: str, request: Request, session: SessionDep, storage: StorageDep
) -> Response:
    """The original upload, with HTTP Range support for the player: sent from the
    API's disk when local, streamed from the bucket when in S3."""
    clip = clip_store.get_clip(session, clip_id)
    if clip.media_removed_at is not None:
        raise NotFoundError(
            "Медиафайл сюжета удалён по сроку хранения; расшифровка сохранена. "
            "The clip's media was removed by the retention setting; the transcript is kept."
        )
    media_type = clip.media_type or UNKNOWN_MEDIA_TYPE
    path = storage.path_for(clip.media_key)
    if path is not None:
        return FileResponse(path, media_type=media_type, headers=MEDIA_HEADERS)
    try:
        media = storage.open(clip.media_key)
    except NotFoundError:
        raise NotFoundError(
            f"Медиафайл сюжета {clip_id} отсутствует. The clip's media is missing."
        ) from None
    return ranged_media_response(
        media,
        media_type=media_type,
        range_header=request.headers.get("range"),
        headers=MEDIA_HEADERS,
    )


def _library_entry(clip: Clip, job: Job | None) -> LibraryClipPublic:
    entry = LibraryClipPublic.model_validate(clip)
    if job is not None:
        entry.job_id, entry.state = job.id, job.state
    return entry
