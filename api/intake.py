"""From a staged upload to a queued job: the one path for POST /clips and resumable uploads.

The form fields are checked (``job_request``), the media probed, committed to
content-addressed storage, recorded as a clip with its job, and sent to the workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.auth import Principal
from api.multipart import InvalidUploadError
from efir.config import Settings
from efir.db import Clip, Job
from efir.glossary import MAX_GLOSSARY_TERMS, Glossary
from efir.health import check_database
from efir.jobs.lifecycle import JobPriority, JobQueue, create_job, send_to_workers
from efir.media.clips import record_clip, refuse_duplicate
from efir.media.probe import MediaSummary, probe_media
from efir.media.storage.base import MediaStorage, StagedMedia, StoredMedia
from efir.programme_glossary import add_programme_terms, with_programme_glossary
from efir.webhooks.delivery import callback_url_for, subscribe

__all__ = ["JobRequest", "ingest_staged", "job_request"]

# Each text field's longest value, as the clips table holds it.
_TEXT_FIELDS = {"title": 500, "programme": 200, "channel": 200}
_MAX_SPEAKERS = 30


@dataclass(frozen=True)
class JobRequest:
    """The upload form's fields, checked: clip metadata, pipeline options, priority, the
    callback URL for the job's end (efir.webhooks.delivery), and whether a file already in
    the archive is refused (409 naming its clip) or recorded again."""

    metadata: dict[str, Any]
    options: dict[str, Any]
    priority: JobPriority
    callback_url: str | None
    refuse_duplicate: bool = False
    # The upload's glossary is also kept as its programme's (efir.programme_glossary).
    remember_glossary: bool = False


def job_request(fields: dict[str, str], settings: Settings) -> JobRequest:
    """Check the form fields; raises InvalidUploadError or CallbackUrlError with a message
    for the user. May resolve the callback's host name: call it off the event loop."""
    callback_url = fields.get("callback_url", "").strip()
    return JobRequest(
        metadata=_clip_metadata(fields),
        options={
            "glossary": _glossary_terms(fields.get("glossary", "")),
            **_speaker_hints(fields),
            **_readings(fields),
        },
        priority=_priority(fields.get("priority", "")),
        callback_url=callback_url_for(callback_url, settings) if callback_url else None,
        refuse_duplicate=_on_duplicate(fields.get("on_duplicate", "")) == "refuse",
        remember_glossary=_remember_glossary(fields),
    )


async def ingest_staged(
    *,
    staged: StagedMedia,
    filename: str,
    fields: dict[str, str],
    settings: Settings,
    storage: MediaStorage,
    sessions: sessionmaker[Session],
    queue: JobQueue,
    uploader: Principal,
) -> Job:
    """Probe, commit and record a closed staged upload; returns its job, sent to the workers.
    The clip records ``uploader``'s user (none in local mode); its callback, the token."""
    with staged:
        request = await run_in_threadpool(job_request, fields, settings)
        # Media committed while the database is down would have no clip row to point at
        # it, and could not be told apart from another clip's: refuse before storing.
        await run_in_threadpool(check_database, sessions)
        if request.refuse_duplicate:
            await run_in_threadpool(_refuse_duplicate, sessions, staged.sha256)
        summary = await run_in_threadpool(
            probe_media, staged.path, max_duration_s=settings.max_duration_s
        )
        # Off the event loop: for S3 storage the commit is the upload to the bucket.
        stored = await run_in_threadpool(storage.commit, staged)
    job = await run_in_threadpool(
        _record_clip, sessions, storage, stored, summary, filename, request, uploader
    )
    send_to_workers(queue, job)
    return job


def _on_duplicate(raw: str) -> str:
    choice = raw.strip() or "new"
    if choice not in ("new", "refuse"):
        raise InvalidUploadError(
            f"Поле on_duplicate должно быть new или refuse, получено {raw!r}. "
            "on_duplicate must be new or refuse."
        )
    return choice


def _refuse_duplicate(sessions: sessionmaker[Session], sha256: str) -> None:
    with sessions() as session:
        refuse_duplicate(session, sha256)


def _priority(raw: str) -> JobPriority:
    try:
        return JobPriority(raw.strip() or JobPriority.NORMAL)
    except ValueError:
        raise InvalidUploadError(
            f"Поле priority должно быть normal или urgent, получено {raw!r}. "
            "priority must be normal or urgent."
        ) from None


def _record_clip(
    sessions: sessionmaker[Session],
    storage: MediaStorage,
    stored: StoredMedia,
    summary: MediaSummary,
    filename: str,
    request: JobRequest,
    uploader: Principal,
) -> Job:
    try:
        with sessions() as session:
            clip = record_clip(
                session,
                stored=stored,
                summary=summary,
                filename=filename,
                uploaded_by_user_id=uploader.user_id,
                **request.metadata,
            )
            if request.callback_url:
                subscribe(
                    session,
                    clip_id=clip.id,
                    url=request.callback_url,
                    token_id=uploader.token_id,
                )
            programme = request.metadata.get("programme")
            own = request.options["glossary"]
            if programme and request.remember_glossary:
                add_programme_terms(session, programme, own)
            options = {
                **request.options,
                "glossary": list(with_programme_glossary(session, programme, own)),
            }
            return create_job(session, clip_id=clip.id, options=options, priority=request.priority)
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
    for name, longest in _TEXT_FIELDS.items():
        value = fields.get(name, "").strip()
        if len(value) > longest:
            raise InvalidUploadError(f"Поле {name} длиннее {longest} символов. {name} is too long.")
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
    terms = list(Glossary.from_text(text).terms)
    if len(terms) > MAX_GLOSSARY_TERMS:
        raise InvalidUploadError(
            f"В глоссарии больше {MAX_GLOSSARY_TERMS} терминов. The glossary is too long."
        )
    return terms


def _remember_glossary(fields: dict[str, str]) -> bool:
    """Optional ``remember_glossary`` (true/false): keep the upload's glossary as its
    programme's, for the programme's next clips; only with a ``programme``."""
    raw = fields.get("remember_glossary", "").strip().lower()
    remember = raw in ("true", "1", "on")
    if not remember and raw not in ("", "false", "0"):
        raise InvalidUploadError(
            f"Поле remember_glossary должно быть true или false, получено {raw!r}. "
            "remember_glossary must be true or false."
        )
    if remember and not fields.get("programme", "").strip():
        raise InvalidUploadError(
            "Чтобы запомнить словарь для программы, укажите программу. "
            "remember_glossary needs a programme."
        )
    return remember


def _readings(fields: dict[str, str]) -> dict[str, int]:
    """Optional ``readings``: how many times the audio is read and voted (1-3), for a
    clip that matters more than the time it takes; unset, the installation's."""
    raw = fields.get("readings", "").strip()
    if not raw:
        return {}
    if raw not in ("1", "2", "3"):
        raise InvalidUploadError(
            "Поле readings должно быть числом от 1 до 3. readings must be 1, 2 or 3."
        )
    return {"readings": int(raw)}


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
