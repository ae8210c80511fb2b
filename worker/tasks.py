"""Celery tasks: ids in, the pipeline run, the result saved; policy in the decorator.

``process_job`` is the plain function behind the task, usable without Celery. It is
idempotent: a redelivered or retried job re-runs and replaces its own transcript.
A job longer than EFIR_CHUNKED_ABOVE_S is only planned by its task: its chunks run as
``transcribe_chunk`` tasks on any workers and the last one sends ``merge_chunks``,
which saves the transcript the same way (worker/chunked.py, efir/jobs/chunks.py).
Either way, a video's shot changes are measured afterwards by ``measure_shots``, a task of
its own on the bulk queue: only subtitle exports use them, so no job waits for them and
none fails by them.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from functools import partial
from typing import Any

import redis.exceptions
from celery import Task
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from efir.config import Settings, get_settings
from efir.cuts.jobs import fail_cut
from efir.db import Clip, Job, JobState
from efir.errors import EfirError, NotFoundError
from efir.jobs.chunks import (
    CHUNKS_PROGRESS_SPAN,
    claim_merge,
    finish_chunk,
    job_chunks,
    save_chunk_plan,
    start_chunk,
)
from efir.jobs.lifecycle import (
    RUNNING_STATES,
    InvalidTransitionError,
    JobCancelledError,
    advance_job,
    claim_job,
    fail_job,
    finish_job,
    get_job,
    requeue_job,
    set_progress,
    stage_progress,
    touch_job,
)
from efir.jobs.queue import (
    CHUNK_TASK,
    CUT_TASK,
    MERGE_TASK,
    SHOTS_TASK,
    TRANSCRIBE_TASK,
    enqueue_chunk,
    enqueue_merge,
    enqueue_shots,
)
from efir.logs import log_context
from efir.media.analyses import PEAKS, SHOTS, SHOTS_MEASURING, save_analysis
from efir.media.storage import make_storage
from efir.media.storage.base import MediaStorage, StorageUnavailableError
from efir.transcripts.model import SpeakerSource
from efir.transcripts.revisions import save_job_output
from efir.voices.registry import known_voices
from efir.voices.voiceprints import remember_clip_voices, store_voiceprints
from worker.celery_app import app
from worker.celery_app import sessions as worker_sessions
from worker.chunked import (
    decode_and_plan,
    decode_chunk_result,
    encode_chunk_result,
    merge_chunk_results,
    read_chunk_audio,
    transcribe_chunk_audio,
)
from worker.cutting import process_cut
from worker.outcome import ended_by_errors
from worker.pipeline import (
    PipelineOptions,
    PipelineResult,
    name_speakers,
    pipeline_options_for_job,
    run_pipeline,
)
from worker.stages.asr import TimeSpan
from worker.stages.media import MediaInfo, probe
from worker.stages.peaks import peaks_of_pcm
from worker.stages.shots import detect_shots

__all__ = [
    "cut_media",
    "measure_shots",
    "merge_chunks",
    "process_chunk",
    "process_job",
    "process_merge",
    "process_shots",
    "transcribe_chunk",
    "transcribe_clip",
]

# Worth retrying: the database, broker or media store was briefly unreachable.
TRANSIENT_ERRORS = (
    sa_exc.OperationalError,
    redis.exceptions.ConnectionError,
    StorageUnavailableError,
    TimeoutError,
)
MAX_RETRIES = 5
_PROGRESS_WRITE_INTERVAL_S = 0.5
_HEARTBEAT_INTERVAL_S = 10.0

log = logging.getLogger(__name__)


@app.task(name=TRANSCRIBE_TASK, bind=True, max_retries=MAX_RETRIES, acks_late=True)  # type: ignore[untyped-decorator]
def transcribe_clip(self: Task, job_id: str) -> None:
    settings, sessions = _context()
    with _retried_when_transient(self, sessions, job_id, requeue=True):
        process_job(job_id, settings=settings, sessions=sessions)


# One chunk of a long programme; a transient failure retries this chunk alone.
@app.task(name=CHUNK_TASK, bind=True, max_retries=MAX_RETRIES, acks_late=True)  # type: ignore[untyped-decorator]
def transcribe_chunk(self: Task, job_id: str, position: int) -> None:
    settings, sessions = _context()
    with _retried_when_transient(self, sessions, job_id, requeue=False):
        process_chunk(job_id, position, settings=settings, sessions=sessions)


@app.task(name=MERGE_TASK, bind=True, max_retries=MAX_RETRIES, acks_late=True)  # type: ignore[untyped-decorator]
def merge_chunks(self: Task, job_id: str) -> None:
    settings, sessions = _context()
    with _retried_when_transient(self, sessions, job_id, requeue=False):
        process_merge(job_id, settings=settings, sessions=sessions)


# A clip's shot changes, after its job is done. Acked on receipt, unlike a job: a video
# that kills its worker's decoder must not come back for ever (its "measuring" record
# keeps the recovery sweep off it too); its subtitle exports go without shot timing.
@app.task(name=SHOTS_TASK, bind=True, max_retries=MAX_RETRIES, acks_late=False)  # type: ignore[untyped-decorator]
def measure_shots(self: Task, clip_id: str) -> None:
    settings, sessions = _context()
    try:
        process_shots(clip_id, settings=settings, sessions=sessions)
    except TRANSIENT_ERRORS as error:
        if self.request.retries >= MAX_RETRIES:
            log.error("clip %s: shot changes not measured: %s", clip_id, error)
            return
        raise self.retry(exc=error, countdown=min(300, 5 * 2**self.request.retries)) from error


# A quote cut from a clip (efir.cuts); a transient failure retries the cut, then fails it.
@app.task(name=CUT_TASK, bind=True, max_retries=MAX_RETRIES, acks_late=True)  # type: ignore[untyped-decorator]
def cut_media(self: Task, cut_id: str) -> None:
    settings, sessions = _context()
    try:
        process_cut(cut_id, settings=settings, sessions=sessions, transient=TRANSIENT_ERRORS)
    except TRANSIENT_ERRORS as error:
        if self.request.retries >= MAX_RETRIES:
            with sessions() as session:
                fail_cut(session, cut_id, f"Сбой инфраструктуры: {error}")
            raise
        raise self.retry(exc=error, countdown=min(300, 5 * 2**self.request.retries)) from error


@contextmanager
def _retried_when_transient(
    task: Task, sessions: sessionmaker[Session], job_id: str, *, requeue: bool
) -> Iterator[None]:
    """Retry the task with backoff after a transient error; fail the job after the last.

    ``requeue`` puts the job back to queued meanwhile: right for a whole job, wrong
    for one chunk, whose job stays transcribing while the other chunks run."""
    try:
        yield
    except TRANSIENT_ERRORS as error:
        if task.request.retries >= MAX_RETRIES:
            with sessions() as session:
                fail_job(session, job_id, f"Сбой инфраструктуры: {error}")
            raise
        if requeue:
            with sessions() as session:
                requeue_job(session, job_id, reason=f"retrying after: {error}")
        raise task.retry(exc=error, countdown=min(300, 5 * 2**task.request.retries)) from error


def process_job(job_id: str, *, settings: Settings, sessions: sessionmaker[Session]) -> None:
    with log_context(job_id=job_id):
        _process_job(job_id, settings=settings, sessions=sessions)


def process_chunk(
    job_id: str, position: int, *, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """Transcribe one chunk of a long programme; the last chunk done sends the merge."""
    with log_context(job_id=job_id), sessions() as session:
        chunk = start_chunk(session, job_id, position)
        if chunk is None:
            log.info("chunk %d: done already or job not transcribing; nothing to do", position)
            return
        log.info(
            "chunk %d started: %.1f-%.1f s, attempt %d",
            position,
            chunk.start_s,
            chunk.end_s,
            chunk.attempts,
        )
        started = time.monotonic()
        with _job_outcome(session, job_id):
            storage = make_storage(settings)
            audio = read_chunk_audio(storage, chunk.audio_key, chunk.start_s, chunk.end_s)
            result = transcribe_chunk_audio(
                audio,
                chunk.start_s,
                [TimeSpan(start, end) for start, end in chunk.speech],
                pipeline_options_for_job(settings, get_job(session, job_id).options),
                on_progress=_Heartbeat(session, job_id),
            )
            stored = storage.put_stream([encode_chunk_result(result)], max_bytes=sys.maxsize)
            merge_due = finish_chunk(session, job_id, position, result_key=stored.key)
            log.info("chunk %d done in %.1f s", position, time.monotonic() - started)
            if merge_due:
                enqueue_merge(app, settings, job_id)


def process_merge(job_id: str, *, settings: Settings, sessions: sessionmaker[Session]) -> None:
    """Join a long programme's chunks, find its speakers once, save like a short clip."""
    with log_context(job_id=job_id), sessions() as session:
        job = get_job(session, job_id)
        if job.state is not JobState.SPEAKERS:
            log.info("job %s is %s, not awaiting its merge; nothing to do", job_id, job.state)
            return
        clip = _clip_of(session, job)
        with _job_outcome(session, job_id):
            storage = make_storage(settings)
            chunks = job_chunks(session, job_id)
            results = [decode_chunk_result(_read_blob(storage, c.result_key)) for c in chunks]
            duration_s = chunks[-1].end_s
            transcript, embeddings = merge_chunk_results(results, duration_s)
            with storage.local_copy(clip.media_key) as media_path:
                has_video = probe(media_path).has_video
                result = name_speakers(
                    transcript,
                    embeddings,
                    media_path,
                    pipeline_options_for_job(settings, job.options),
                    has_video=has_video,
                    known_voices=known_voices(session),
                )
            # The editor's waveform from the programme's decoded audio, before it goes.
            with storage.open(chunks[0].audio_key) as source:
                peaks = peaks_of_pcm(source, duration_s)
            result = replace(result, analyses={**result.analyses, PEAKS: peaks})
            _save_output(session, clip.id, job_id, result)
            if has_video:
                _send_shots(settings, clip.id)
            for key in {chunks[0].audio_key, *(c.result_key for c in chunks if c.result_key)}:
                storage.delete(key)
            log.info("long programme merged: %d chunks, %.0f s", len(chunks), duration_s)


def _process_job(job_id: str, *, settings: Settings, sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        job = claim_job(session, job_id)
        if job is None:
            log.info("job %s is already finished; nothing to do", job_id)
            return
        clip = _clip_of(session, job)
        log.info("job started: clip %s, attempt %d", clip.id, job.attempts)
        started = time.monotonic()
        with _job_outcome(session, job_id):
            options = pipeline_options_for_job(settings, job.options)
            storage = make_storage(settings)
            # A download when media is in S3: workers never need the API's disk.
            with storage.local_copy(clip.media_key) as media_path:
                info = probe(media_path, max_duration_s=options.max_duration_s)
                if info.duration_s > settings.chunked_above_s:
                    _start_long_programme(session, job_id, info, storage, options, settings)
                    return
                result = run_pipeline(
                    media_path,
                    options,
                    known_voices=known_voices(session),
                    on_progress=_ProgressWriter(session, job_id),
                )
            _save_output(session, clip.id, job_id, result)
            log.info("job done in %.1f s", time.monotonic() - started)
            if info.has_video:
                _send_shots(settings, clip.id)


def process_shots(clip_id: str, *, settings: Settings, sessions: sessionmaker[Session]) -> None:
    """Measure a video clip's shot changes and store them as its SHOTS analysis, replacing
    an earlier one. Never touches a job: media gone or undecodable is logged and recorded,
    not raised."""
    with log_context(clip_id=clip_id), sessions() as session:
        clip = session.get(Clip, clip_id)
        if clip is None:
            log.info("clip deleted; shot changes not measured")
            return
        # Recorded first: a video that kills this worker is then not sent again by the
        # recovery sweep, which re-sends only videos with no record.
        if not _store_shots(session, clip_id, SHOTS_MEASURING):
            return
        try:
            with make_storage(settings).local_copy(clip.media_key) as media_path:
                times = detect_shots(media_path)
        except EfirError as error:  # e.g. the media deleted, or its video undecodable
            log.warning("shot changes not measured: %s", error)
            _store_shots(session, clip_id, {"times_s": None, "error": str(error)})
            return
        if _store_shots(session, clip_id, {"times_s": times}):
            log.info("shot changes measured: %d", len(times))


def _store_shots(session: Session, clip_id: str, data: dict[str, Any]) -> bool:
    save_analysis(session, clip_id, SHOTS, data)
    try:
        session.commit()
    except sa_exc.IntegrityError:
        # A duplicate of this task stored its record first, or the clip was deleted meanwhile.
        session.rollback()
        log.info("shot changes not stored: measured twice or clip deleted")
        return False
    return True


def _send_shots(settings: Settings, clip_id: str) -> None:
    """Queue the measurement of the clip's shot changes. Its job is done and saved: a broker
    failure here must not undo that; the recovery sweep sends it once the broker is back."""
    try:
        enqueue_shots(app, settings, clip_id)
    except Exception:
        log.exception("could not queue the shot changes of clip %s", clip_id)


def _start_long_programme(
    session: Session,
    job_id: str,
    info: MediaInfo,
    storage: MediaStorage,
    options: PipelineOptions,
    settings: Settings,
) -> None:
    """Plan the chunks (or keep a re-sent job's plan) and send what is not done yet."""
    chunks = job_chunks(session, job_id)
    if not chunks or not _stored(storage, chunks[0].audio_key):
        plan = decode_and_plan(info, storage, options, chunk_s=settings.chunk_seconds)
        chunks = save_chunk_plan(
            session,
            job_id,
            [(chunk.span.start, chunk.span.end) for chunk in plan.chunks],
            speech=[[(r.start, r.end) for r in chunk.speech] for chunk in plan.chunks],
            audio_key=plan.audio_key,
        )
    advance_job(session, job_id, JobState.TRANSCRIBING, CHUNKS_PROGRESS_SPAN[0])
    pending = [chunk.position for chunk in chunks if not chunk.done]
    log.info("long programme: %d chunks, %d to transcribe", len(chunks), len(pending))
    for position in pending:
        enqueue_chunk(app, settings, job_id, position)
    if not pending and claim_merge(session, job_id):
        enqueue_merge(app, settings, job_id)


def _save_output(session: Session, clip_id: str, job_id: str, result: PipelineResult) -> None:
    advance_job(session, job_id, JobState.INDEXING, stage_progress(JobState.INDEXING, 0.0))
    # Committed with the transcript: the registry learns the speakers a caption was seen
    # over, never one the clustering or the registry named by voice alone.
    store_voiceprints(session, clip_id, result.voiceprints)
    for kind, data in result.analyses.items():
        save_analysis(session, clip_id, kind, data)
    seen = {
        s.speaker
        for s in result.transcript.segments
        if s.speaker and s.speaker_source is SpeakerSource.CAPTION
    }
    transcript = remember_clip_voices(session, clip_id, result.transcript, seen)
    save_job_output(session, clip_id=clip_id, job_id=job_id, transcript=transcript)
    finish_job(session, job_id)


def _job_outcome(session: Session, job_id: str) -> AbstractContextManager[None]:
    return ended_by_errors(
        session,
        partial(_fail, session, job_id),
        transient=TRANSIENT_ERRORS,
        stopped=(JobCancelledError,),
    )


def _fail(session: Session, job_id: str, reason: str) -> None:
    try:
        fail_job(session, job_id, reason)
    except InvalidTransitionError:
        # Another chunk of the same programme failed (or the job was cancelled) first.
        log.info("job %s had already ended; not failed again", job_id)


def _clip_of(session: Session, job: Job) -> Clip:
    clip = session.get(Clip, job.clip_id)
    if clip is None:
        raise NotFoundError(f"clip {job.clip_id} of job {job.id} is gone")
    return clip


def _stored(storage: MediaStorage, key: str) -> bool:
    try:
        storage.open(key).close()
    except NotFoundError:
        return False
    return True


def _read_blob(storage: MediaStorage, key: str | None) -> bytes:
    if key is None:
        raise NotFoundError("a done chunk has no stored result")
    with storage.open(key) as source:
        return source.read()


class _Heartbeat:
    """A chunk's ASR progress callback: keeps its job from looking abandoned (the
    recovery sweep re-sends silent jobs) and stops the chunk once the job is cancelled."""

    def __init__(self, session: Session, job_id: str) -> None:
        self._session = session
        self._job_id = job_id
        self._beaten_at = time.monotonic()

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self._beaten_at >= _HEARTBEAT_INTERVAL_S:
            touch_job(self._session, self._job_id)
            self._beaten_at = now


class _ProgressWriter:
    """The pipeline's progress callback: moves the job's stage, throttles progress writes."""

    def __init__(self, session: Session, job_id: str) -> None:
        self._session = session
        self._job_id = job_id
        self._state = JobState.DECODING
        self._written_at = 0.0

    def __call__(self, state: JobState, fraction: float) -> None:
        if RUNNING_STATES.index(state) < RUNNING_STATES.index(self._state):
            return  # a stage revisited (e.g. re-decoding a region) never moves the job back
        progress = stage_progress(state, fraction)
        now = time.monotonic()
        if state is not self._state:
            advance_job(self._session, self._job_id, state, progress)
            self._state = state
        elif now - self._written_at >= _PROGRESS_WRITE_INTERVAL_S or fraction >= 1.0:
            set_progress(self._session, self._job_id, progress)
        else:
            return
        self._written_at = now


def _context() -> tuple[Settings, sessionmaker[Session]]:
    """Settings and the worker child's session factory (shared with its webhook task)."""
    return get_settings(), worker_sessions()
