"""Clips: upload (streamed, probed, content-addressed, queued), metadata, the media itself."""

from __future__ import annotations

import logging
import mimetypes
from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.deps import EnqueueDep, SessionDep, SettingsDep, StorageDep
from api.media_response import ranged_media_response
from api.schemas import ClipPublic, JobPublic
from api.upload import InvalidUploadError, receive_upload
from efir.clips import record_clip
from efir.db import Clip, Job
from efir.errors import MediaTooLargeError, NotFoundError
from efir.jobs import create_job
from efir.media_probe import MediaSummary, probe_media
from efir.storage import MediaStorage, StoredMedia

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/clips", tags=["clips"])
log = logging.getLogger(__name__)

_TEXT_FIELDS = ("title", "programme", "channel")
_MAX_GLOSSARY_TERMS = 5000
_MAX_SPEAKERS = 30
# Multipart boundaries and the form fields around the file.
_MULTIPART_OVERHEAD_BYTES = 1024 * 1024


@router.post("", status_code=202, response_model=JobPublic)
async def upload_clip(
    request: Request, settings: SettingsDep, storage: StorageDep, enqueue: EnqueueDep
) -> JobPublic:
    """Upload a clip (multipart ``file`` plus optional metadata); returns its queued job."""
    declared = int(request.headers.get("content-length") or 0)
    if declared > settings.max_upload_bytes + _MULTIPART_OVERHEAD_BYTES:
        raise MediaTooLargeError(
            "Файл больше допустимого размера. The file is over the upload size limit."
        )
    form = await receive_upload(request, storage, max_bytes=settings.max_upload_bytes)
    assert form.staged is not None and form.filename is not None
    with form.staged:
        metadata = _clip_metadata(form.fields)
        options = {
            "glossary": _glossary_terms(form.fields.get("glossary", "")),
            **_speaker_hints(form.fields),
        }
        summary = await run_in_threadpool(
            probe_media, form.staged.path, max_duration_s=settings.max_duration_s
        )
        stored = storage.commit(form.staged)
    sessions: sessionmaker[Session] = request.app.state.sessions
    job = await run_in_threadpool(
        _record_clip, sessions, storage, stored, summary, form.filename, metadata, options
    )
    try:
        enqueue(job.id)
    except Exception:
        # The job is safe in the database; the API's recovery sweep sends it later.
        log.exception("broker unreachable; job %s stays queued for the recovery sweep", job.id)
    return JobPublic.model_validate(job)


@router.get("", response_model=list[ClipPublic])
def list_clips(session: SessionDep, limit: int = 50, offset: int = 0) -> list[ClipPublic]:
    clips = session.scalars(
        select(Clip).order_by(Clip.created_at.desc()).limit(min(limit, 500)).offset(offset)
    )
    return [ClipPublic.model_validate(clip) for clip in clips]


@router.get("/{clip_id}", response_model=ClipPublic)
def get_clip(clip_id: str, session: SessionDep) -> ClipPublic:
    return ClipPublic.model_validate(_clip(session, clip_id))


@router.get("/{clip_id}/media")
def get_clip_media(
    clip_id: str, request: Request, session: SessionDep, storage: StorageDep
) -> Response:
    """The original upload, with HTTP Range support for the player: sent from the
    API's disk when local, streamed from the bucket when in S3."""
    clip = _clip(session, clip_id)
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


def _record_clip(
    sessions: sessionmaker[Session],
    storage: MediaStorage,
    stored: StoredMedia,
    summary: MediaSummary,
    filename: str,
    metadata: dict[str, Any],
    options: dict[str, Any],
) -> Job:
    try:
        with sessions() as session:
            clip = record_clip(
                session, stored=stored, summary=summary, filename=filename, **metadata
            )
            return create_job(session, clip_id=clip.id, options=options)
    except Exception:
        _forget_unreferenced(sessions, storage, stored.key)
        raise


def _forget_unreferenced(sessions: sessionmaker[Session], storage: MediaStorage, key: str) -> None:
    """Delete media no clip points at, so a failed upload leaves nothing behind."""
    try:
        with sessions() as session:
            referenced = session.scalar(select(Clip.id).where(Clip.media_key == key).limit(1))
    except Exception:
        return  # cannot tell whether another clip uses it: keeping it is the safe side
    if referenced is None:
        storage.delete(key)


def _clip_metadata(fields: dict[str, str]) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = fields.get(name, "").strip()
        if len(value) > 500:
            raise InvalidUploadError(f"Поле {name} длиннее 500 символов. {name} is too long.")
        metadata[name] = value or None
    raw_date = fields.get("air_date", "").strip()
    try:
        metadata["air_date"] = date.fromisoformat(raw_date) if raw_date else None
    except ValueError:
        raise InvalidUploadError(
            f"Дата эфира должна быть в виде ГГГГ-ММ-ДД, получено {raw_date!r}. "
            "air_date must be YYYY-MM-DD."
        ) from None
    return metadata


def _glossary_terms(text: str) -> list[str]:
    terms = [line.strip() for line in text.splitlines() if line.strip()]
    if len(terms) > _MAX_GLOSSARY_TERMS:
        raise InvalidUploadError(
            f"В глоссарии больше {_MAX_GLOSSARY_TERMS} терминов. The glossary is too long."
        )
    return terms


def _speaker_hints(fields: dict[str, str]) -> dict[str, int]:
    """Optional ``min_speakers``/``max_speakers`` for diarization, when the uploader knows."""
    hints: dict[str, int] = {}
    for name in ("min_speakers", "max_speakers"):
        raw = fields.get(name, "").strip()
        if not raw:
            continue
        if not raw.isdigit() or not 1 <= int(raw) <= _MAX_SPEAKERS:
            raise InvalidUploadError(
                f"Поле {name} должно быть числом от 1 до {_MAX_SPEAKERS}. "
                f"{name} must be a whole number from 1 to {_MAX_SPEAKERS}."
            )
        hints[name] = int(raw)
    if hints.get("min_speakers", 1) > hints.get("max_speakers", _MAX_SPEAKERS):
        raise InvalidUploadError(
            "min_speakers больше max_speakers. min_speakers is above max_speakers."
        )
    return hints


def _clip(session: Session, clip_id: str) -> Clip:
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise NotFoundError(f"Клип {clip_id} не найден. Clip {clip_id} does not exist.")
    return clip
