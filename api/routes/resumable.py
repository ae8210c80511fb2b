"""Resumable uploads over HTTP: create, append chunks with Content-Range, ask the offset.

    POST  /api/v1/uploads        {"filename", "size", "metadata": {form fields}} → 201
    PATCH /api/v1/uploads/{id}   Content-Range: bytes 0-8388607/52428800, the chunk as body
    HEAD  /api/v1/uploads/{id}   Upload-Offset: bytes received so far
    GET   /api/v1/uploads/{id}   the same as JSON, with the job once the upload is complete

The chunk that completes the file runs the same path as ``POST /api/v1/clips``.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.auth import Principal, require
from api.deps import JobQueueDep, SettingsDep, StorageDep
from api.intake import ingest_staged, job_request
from api.multipart import InvalidUploadError, display_filename
from api.schemas import JobPublic
from efir.accounts.users import Permission
from efir.config import Settings
from efir.errors import EfirError
from efir.jobs.lifecycle import get_job
from efir.media.staging import PendingUpload, ResumableUploads
from efir.media.storage.base import MediaStorage, StagedMedia

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"])

# A day: an upload left over a night shift can still be resumed in the morning.
UPLOAD_EXPIRY_S = 24 * 3600.0
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


class UploadRequest(BaseModel):
    filename: str
    size: int = Field(gt=0)
    metadata: dict[str, str] = Field(default_factory=dict)


class UploadPublic(BaseModel):
    id: str
    filename: str
    size: int
    offset: int
    complete: bool
    job: JobPublic | None = None


def _uploads(settings: SettingsDep) -> ResumableUploads:
    return ResumableUploads(
        settings.data_dir / "uploads",
        max_bytes=settings.max_upload_bytes,
        expire_after_s=UPLOAD_EXPIRY_S,
    )


UploadsDep = Annotated[ResumableUploads, Depends(_uploads)]


@router.post(
    "",
    status_code=201,
    response_model=UploadPublic,
    dependencies=[require(Permission.UPLOAD, new_upload=True)],
)
def start_upload(
    body: UploadRequest, uploads: UploadsDep, settings: SettingsDep, response: Response
) -> UploadPublic:
    """Start an upload; the metadata is checked now so a typo fails before the bytes."""
    job_request(body.metadata, settings)
    upload = uploads.create(
        filename=display_filename(body.filename), size_bytes=body.size, fields=body.metadata
    )
    response.headers["Location"] = f"{router.prefix}/{upload.id}"
    response.headers["Upload-Offset"] = "0"
    return _public(upload, None)


@router.head("/{upload_id}", dependencies=[require(Permission.UPLOAD)])
def upload_offset(upload_id: str, uploads: UploadsDep) -> Response:
    upload = uploads.get(upload_id)
    return Response(headers={"Upload-Offset": str(upload.offset), "Cache-Control": "no-store"})


@router.get("/{upload_id}", response_model=UploadPublic, dependencies=[require(Permission.UPLOAD)])
def upload_status(
    upload_id: str, uploads: UploadsDep, request: Request, response: Response
) -> UploadPublic:
    upload = uploads.get(upload_id)
    response.headers["Upload-Offset"] = str(upload.offset)
    response.headers["Cache-Control"] = "no-store"
    return _public(upload, _job_of(request, upload))


@router.patch("/{upload_id}", response_model=UploadPublic)
async def append_chunk(
    upload_id: str,
    request: Request,
    response: Response,
    uploads: UploadsDep,
    settings: SettingsDep,
    storage: StorageDep,
    queue: JobQueueDep,
    uploader: Annotated[Principal, require(Permission.UPLOAD)],
) -> UploadPublic:
    """Append the body at Content-Range's start (409 if the upload stands elsewhere).
    The clip is recorded as uploaded by whoever sends the completing chunk."""
    start, end, total = _content_range(request.headers.get("content-range", ""))
    writer = await run_in_threadpool(
        uploads.open_chunk, upload_id, start=start, end=end, total=total
    )
    try:
        async for chunk in request.stream():
            await run_in_threadpool(writer.write, chunk)
    finally:
        # Whatever arrived stays: a dropped connection resumes from here.
        upload = await run_in_threadpool(writer.close)
    response.headers["Upload-Offset"] = str(upload.offset)
    if not upload.complete:
        return _public(upload, None)
    try:
        staged = await run_in_threadpool(_stage_from_upload, uploads, upload, storage, settings)
        job = await ingest_staged(
            staged=staged,
            filename=upload.filename,
            fields=upload.fields,
            settings=settings,
            storage=storage,
            sessions=request.app.state.sessions,
            queue=queue,
            uploader=uploader,
        )
    except EfirError:
        uploads.discard(upload.id)  # unprocessable media is not worth resuming
        raise
    except Exception:
        # A dependency is down (503): keep the upload for the client's retry of this chunk.
        uploads.rewind(upload.id, start)
        raise
    uploads.finish(upload, job.id)
    return _public(upload, JobPublic.model_validate(job))


def _content_range(header: str) -> tuple[int, int, int]:
    """(start, end exclusive, total) from ``bytes first-last/total``."""
    match = _CONTENT_RANGE.match(header.strip())
    if not match:
        raise InvalidUploadError(
            "Нужен заголовок Content-Range: bytes первый-последний/всего. "
            "Send a Content-Range: bytes first-last/total header."
        )
    first, last, total = (int(group) for group in match.groups())
    return first, last + 1, total


def _stage_from_upload(
    uploads: ResumableUploads, upload: PendingUpload, storage: MediaStorage, settings: Settings
) -> StagedMedia:
    # Copied through the storage's own staging, so any storage backend gets it the same way.
    staged = storage.stage(max_bytes=settings.max_upload_bytes)
    try:
        for chunk in uploads.read(upload.id):
            staged.write(chunk)
        staged.close()
    except BaseException:
        staged.discard()
        raise
    return staged


def _job_of(request: Request, upload: PendingUpload) -> JobPublic | None:
    if upload.job_id is None:
        return None
    sessions: sessionmaker[Session] = request.app.state.sessions
    with sessions() as session:
        return JobPublic.model_validate(get_job(session, upload.job_id))


def _public(upload: PendingUpload, job: JobPublic | None) -> UploadPublic:
    return UploadPublic(
        id=upload.id,
        filename=upload.filename,
        size=upload.size_bytes,
        offset=upload.offset,
        complete=upload.complete or upload.job_id is not None,
        job=job,
    )
