"""Celery tasks: ids in, the pipeline run, the result saved; policy in the decorator.

``process_job`` is the plain function behind the task, usable without Celery. It is
idempotent: a redelivered or retried job re-runs and replaces its own transcript.
"""

from __future__ import annotations

import logging
import time
from functools import cache

import redis.exceptions
from celery import Task
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from efir.clip_voiceprints import remember_clip_voices, store_voiceprints
from efir.config import Settings, get_settings
from efir.db import Clip, JobState, make_engine, make_session_factory
from efir.errors import EfirError, NotFoundError
from efir.jobs import (
    JobCancelledError,
    advance_job,
    claim_job,
    fail_job,
    finish_job,
    requeue_job,
    set_progress,
)
from efir.logs import log_context
from efir.queue import TRANSCRIBE_TASK
from efir.storage import StorageUnavailableError, make_storage
from efir.transcripts_store import save_job_output
from efir.voices import known_voices
from worker.celery_app import app
from worker.pipeline import pipeline_options_from_settings, run_pipeline

__all__ = ["process_job", "transcribe_clip"]

# Worth retrying: the database, broker or media store was briefly unreachable.
TRANSIENT_ERRORS = (
    sa_exc.OperationalError,
    redis.exceptions.ConnectionError,
    StorageUnavailableError,
    TimeoutError,
)
MAX_RETRIES = 5
# Each pipeline stage's share of the job's overall progress.
_STAGE_SPANS = {
    "decoding": (JobState.DECODING, 0.0, 0.05),
    "transcribing": (JobState.TRANSCRIBING, 0.05, 0.85),
    "speakers": (JobState.SPEAKERS, 0.85, 0.95),
}
_STAGE_ORDER = [state for state, _, _ in _STAGE_SPANS.values()]
_INDEXING_PROGRESS = 0.95
_PROGRESS_WRITE_INTERVAL_S = 0.5

log = logging.getLogger(__name__)


@app.task(name=TRANSCRIBE_TASK, bind=True, max_retries=MAX_RETRIES, acks_late=True)  # type: ignore[untyped-decorator]
def transcribe_clip(self: Task, job_id: str) -> None:
    settings, sessions = _context()
    try:
        process_job(job_id, settings=settings, sessions=sessions)
    except TRANSIENT_ERRORS as error:
        if self.request.retries >= MAX_RETRIES:
            with sessions() as session:
                fail_job(session, job_id, f"Сбой инфраструктуры: {error}")
            raise
        with sessions() as session:
            requeue_job(session, job_id, reason=f"retrying after: {error}")
        raise self.retry(exc=error, countdown=min(300, 5 * 2**self.request.retries)) from error


def process_job(job_id: str, *, settings: Settings, sessions: sessionmaker[Session]) -> None:
    with log_context(job_id=job_id):
        _process_job(job_id, settings=settings, sessions=sessions)


def _process_job(job_id: str, *, settings: Settings, sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        job = claim_job(session, job_id)
        if job is None:
            log.info("job %s is already finished; nothing to do", job_id)
            return
        clip = session.get(Clip, job.clip_id)
        if clip is None:
            raise NotFoundError(f"clip {job.clip_id} of job {job_id} is gone")
        log.info("job started: clip %s, attempt %d", clip.id, job.attempts)
        started = time.monotonic()
        try:
            options = pipeline_options_from_settings(
                settings,
                glossary_terms=tuple(job.options.get("glossary", ())),
                min_speakers=job.options.get("min_speakers"),
                max_speakers=job.options.get("max_speakers"),
            )
            # A download when media is in S3: workers never need the API's disk.
            with make_storage(settings).local_copy(clip.media_key) as media_path:
                result = run_pipeline(
                    media_path,
                    options,
                    known_voices=known_voices(session),
                    on_progress=_ProgressWriter(session, job_id),
                )
            advance_job(session, job_id, JobState.INDEXING, _INDEXING_PROGRESS)
            # Committed with the transcript: the registry learns the caption-named speakers.
            store_voiceprints(session, clip.id, result.voiceprints)
            transcript = remember_clip_voices(session, clip.id, result.transcript)
            save_job_output(session, clip_id=clip.id, job_id=job_id, transcript=transcript)
            finish_job(session, job_id)
            log.info("job done in %.1f s", time.monotonic() - started)
        except TRANSIENT_ERRORS:
            session.rollback()
            raise
        except JobCancelledError:
            # Cancelled mid-run: whatever this attempt made is dropped, the state stays.
            session.rollback()
            log.info("job %s was cancelled; stopped", job_id)
        except EfirError as error:
            # Media, model and OCR errors are permanent: retrying cannot fix the input.
            session.rollback()
            fail_job(session, job_id, str(error))
            log.warning("job failed: %s", error)
        except Exception as error:
            session.rollback()
            fail_job(session, job_id, f"Внутренняя ошибка: {type(error).__name__}: {error}")
            raise


class _ProgressWriter:
    """The pipeline's progress callback: moves the job's stage, throttles progress writes."""

    def __init__(self, session: Session, job_id: str) -> None:
        self._session = session
        self._job_id = job_id
        self._state = JobState.DECODING
        self._written_at = 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        state, start, end = _STAGE_SPANS.get(stage, (self._state, 0.0, 0.0))
        if _STAGE_ORDER.index(state) < _STAGE_ORDER.index(self._state):
            return  # a stage revisited (e.g. re-decoding a region) never moves the job back
        progress = start + (end - start) * min(1.0, max(0.0, fraction))
        now = time.monotonic()
        if state is not self._state:
            advance_job(self._session, self._job_id, state, progress)
            self._state = state
        elif now - self._written_at >= _PROGRESS_WRITE_INTERVAL_S or fraction >= 1.0:
            set_progress(self._session, self._job_id, progress)
        else:
            return
        self._written_at = now


@cache
def _context() -> tuple[Settings, sessionmaker[Session]]:
    """Settings and a session factory, made once per worker child (after the fork)."""
    settings = get_settings()
    return settings, make_session_factory(make_engine(settings.sqlalchemy_url))
