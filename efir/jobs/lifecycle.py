"""The job state machine. The database row is the truth; the queue only carries ids.

    queued → decoding → transcribing → speakers → indexing → done
       ↑        └──────────┴──────────────┴──────────┴──→ failed | cancelled
       ├── requeue_job (a transient error, or recovery after the broker lost the task)
       └── retry_job (a person asks again for a failed or cancelled job)

A job cancelled while a worker runs it stays cancelled: the worker's next stage
change or progress write finds it so (``JobCancelledError``) and stops.

Every function takes the session and commits its own small transaction, so a
worker's progress is visible to the API at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from efir.db import Clip, Job, JobState, utcnow
from efir.errors import EfirError, NotFoundError
from efir.glossary import Glossary
from efir.programme_glossary import add_programme_terms
from efir.webhooks.delivery import record_job_event

log = logging.getLogger(__name__)

__all__ = [
    "RUNNING_STATES",
    "InvalidTransitionError",
    "JobCancelledError",
    "JobPriority",
    "JobQueue",
    "add_glossary_term",
    "advance_job",
    "cancel_job",
    "claim_job",
    "create_job",
    "fail_job",
    "finish_job",
    "get_job",
    "job_priority",
    "list_jobs",
    "requeue_job",
    "requeue_lost_jobs",
    "retry_job",
    "send_to_workers",
    "set_job_priority",
    "set_progress",
    "stage_durations_s",
    "stage_progress",
    "touch_job",
]

# Each running state's share of a job's overall progress, in the order a job passes them.
STAGE_PROGRESS: dict[JobState, tuple[float, float]] = {
    JobState.DECODING: (0.0, 0.05),
    JobState.TRANSCRIBING: (0.05, 0.85),
    JobState.SPEAKERS: (0.85, 0.95),
    JobState.INDEXING: (0.95, 1.0),
}
RUNNING_STATES = tuple(STAGE_PROGRESS)


class InvalidTransitionError(EfirError):
    """A job was asked to move to a state its current state does not lead to."""


class JobCancelledError(InvalidTransitionError):
    """The job was cancelled while a worker ran it; the worker stops and writes nothing."""


class JobPriority(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"  # breaking news: workers take these before any normal job


class JobQueue(Protocol):
    """The broker as the job functions see it (efir.jobs.queue.CeleryJobQueue)."""

    def send(self, job_id: str, priority: JobPriority) -> None: ...

    def withdraw(self, job_id: str) -> None:
        """Remove the job's waiting messages, if any are still in the broker."""
        ...


def send_to_workers(queue: JobQueue, job: Job) -> None:
    """Send a queued job; if the broker is down it stays queued for the recovery sweep."""
    try:
        queue.send(job.id, job_priority(job))
    except Exception:
        log.exception("broker unreachable; job %s stays queued for the recovery sweep", job.id)


def create_job(
    session: Session,
    *,
    clip_id: str,
    options: dict[str, Any] | None = None,
    priority: JobPriority = JobPriority.NORMAL,
) -> Job:
    # Kept in the options JSON: no schema change, and a retried job keeps its priority.
    job = Job(clip_id=clip_id, options={**(options or {}), "priority": priority.value})
    session.add(job)
    session.commit()
    return job


def add_glossary_term(session: Session, clip_id: str, term: str) -> tuple[str, ...]:
    """Add ``term`` to the clip's glossary, kept in its newest job's options where a retry
    or a re-run reads it, and to its programme's (a name an editor had to fix in one
    clip of a programme, its next clips need too); returns the clip's glossary. The
    caller commits."""
    job = session.scalars(
        select(Job).where(Job.clip_id == clip_id).order_by(Job.created_at.desc()).limit(1)
    ).first()
    if job is None:
        raise NotFoundError(f"У сюжета {clip_id} нет заданий. Clip {clip_id} has no job.")
    programme = session.scalar(select(Clip.programme).where(Clip.id == clip_id))
    if programme:
        add_programme_terms(session, programme, [term])
    terms = Glossary.from_text("\n".join([*job.options.get("glossary", ()), term])).terms
    job.options = {**job.options, "glossary": list(terms)}  # a new dict: the JSON is saved
    return terms


def get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise NotFoundError(f"Задание {job_id} не найдено. Job {job_id} does not exist.")
    return job


def job_priority(job: Job) -> JobPriority:
    try:
        return JobPriority(job.options.get("priority", JobPriority.NORMAL))
    except ValueError:
        return JobPriority.NORMAL


def list_jobs(session: Session, *, limit: int = 100, offset: int = 0) -> Sequence[Job]:
    query = select(Job).order_by(Job.created_at.desc(), Job.id).limit(limit).offset(offset)
    return session.scalars(query).all()


def claim_job(session: Session, job_id: str) -> Job | None:
    """Start (or restart) work on a job; None when it is already finished or cancelled.

    A job found mid-way is claimable too: that is a task redelivered after its worker
    died, and re-running replaces the earlier attempt's output.
    """
    now = utcnow()
    claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Job)
        .where(Job.id == job_id, Job.state.in_((JobState.QUEUED, *RUNNING_STATES)))
        .values(
            state=JobState.DECODING,
            progress=0.0,
            error=None,
            attempts=Job.attempts + 1,
            started_at=now,
            stage_started_at=None,
            updated_at=now,
        )
    )
    session.commit()
    if claimed.rowcount == 0:
        get_job(session, job_id)  # raises NotFoundError for an unknown id
        return None
    return get_job(session, job_id)


def advance_job(session: Session, job_id: str, state: JobState, progress: float) -> Job:
    """Move a running job forward to ``state`` (or stay in it) with overall ``progress``."""
    job = get_job(session, job_id)
    _stop_if_cancelled(job)
    if state not in RUNNING_STATES or job.state not in RUNNING_STATES:
        raise InvalidTransitionError(
            f"Задание {job_id} не может перейти из {job.state} в {state}. "
            f"Job {job_id} cannot move from {job.state} to {state}."
        )
    if RUNNING_STATES.index(state) < RUNNING_STATES.index(job.state):
        raise InvalidTransitionError(
            f"Задание {job_id} не может вернуться из {job.state} в {state}. "
            f"Job {job_id} cannot go back from {job.state} to {state}."
        )
    values: dict[str, Any] = {"state": state, "progress": _clamp(progress)}
    if state is not job.state:
        values["stage_started_at"] = {
            **(job.stage_started_at or {}),
            state.value: utcnow().isoformat(),
        }
    # Conditional, not read-modify-write: a cancel committed since the read must stand.
    _write_while_running(session, job_id, **values)
    return job


def stage_progress(state: JobState, fraction: float) -> float:
    """A job's overall progress when its stage ``state`` is ``fraction`` done. A state
    with no band raises KeyError: a new stage must get one, not a progress that never moves."""
    start, end = STAGE_PROGRESS[state]
    return start + (end - start) * _clamp(fraction)


def stage_durations_s(
    started_at: datetime, stage_started_at: dict[str, str] | None, finished_at: datetime
) -> dict[str, float]:
    """Seconds spent in each stage a job went through; a stage ends where the next begins."""
    starts = [(JobState.DECODING.value, started_at)]
    for stage in RUNNING_STATES[1:]:
        if stage_started_at and stage.value in stage_started_at:
            starts.append((stage.value, datetime.fromisoformat(stage_started_at[stage.value])))
    ends = [start for _, start in starts[1:]] + [finished_at]
    return {
        stage: max(0.0, (end - start).total_seconds())
        for (stage, start), end in zip(starts, ends, strict=True)
    }


def set_progress(session: Session, job_id: str, progress: float) -> None:
    """Record progress of a running job; raises JobCancelledError once it was cancelled."""
    _write_while_running(session, job_id, progress=_clamp(progress))


def touch_job(session: Session, job_id: str) -> None:
    """Show a running job is alive (the recovery sweep re-sends silent ones) without
    moving its progress; raises JobCancelledError once it was cancelled."""
    _write_while_running(session, job_id)


def _write_while_running(session: Session, job_id: str, **values: Any) -> None:
    written: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Job)
        .where(Job.id == job_id, Job.state.in_(RUNNING_STATES))
        .values(updated_at=utcnow(), **values)
    )
    session.commit()
    if written.rowcount == 0:
        _stop_if_cancelled(get_job(session, job_id))


def finish_job(session: Session, job_id: str) -> Job:
    return _end(session, job_id, JobState.DONE, error=None)


def fail_job(session: Session, job_id: str, error: str) -> Job:
    return _end(session, job_id, JobState.FAILED, error=error)


def cancel_job(session: Session, job_id: str) -> Job:
    return _end(session, job_id, JobState.CANCELLED, error=None)


def retry_job(session: Session, job_id: str) -> Job:
    """Queue a failed or cancelled job again (the caller sends it to the broker)."""
    job = get_job(session, job_id)
    if job.state not in (JobState.FAILED, JobState.CANCELLED):
        raise InvalidTransitionError(
            f"Повторить можно только задание с ошибкой или отменённое; это — {job.state}. "
            f"Only a failed or cancelled job can be retried; job {job_id} is {job.state}."
        )
    return _back_to_queue(session, job, error=None)


def set_job_priority(session: Session, job_id: str, priority: JobPriority) -> Job:
    """Store the job's priority; only a queued job needs re-sending to take effect."""
    job = get_job(session, job_id)
    job.options = {**job.options, "priority": priority.value}
    session.commit()
    return job


def requeue_job(session: Session, job_id: str, *, reason: str | None = None) -> Job:
    """Put an unfinished job back to queued, e.g. before a retry."""
    job = get_job(session, job_id)
    if job.state.is_terminal:
        raise InvalidTransitionError(
            f"Задание {job_id} уже завершено ({job.state}), в очередь его не вернуть. "
            f"Job {job_id} is {job.state}; it cannot be requeued."
        )
    return _back_to_queue(session, job, error=reason)


def _back_to_queue(session: Session, job: Job, *, error: str | None) -> Job:
    job.state = JobState.QUEUED
    job.progress = 0.0
    job.error = error
    job.finished_at = None
    session.commit()
    return job


def requeue_lost_jobs(
    session: Session,
    enqueue: Callable[[str, JobPriority], None],
    *,
    live_job_ids: set[str],
    queued_for_s: float = 60.0,
    silent_for_s: float = 15 * 60.0,
) -> list[str]:
    """Send again the jobs the broker has lost, e.g. after a Redis restart without persistence.

    Lost means: queued for ``queued_for_s`` with no message for it in the broker
    (``live_job_ids``), or running without a progress write for ``silent_for_s``
    (its worker is gone, whatever the broker still holds). Returns the ids sent.
    """
    now = utcnow()
    waiting = session.scalars(
        select(Job).where(
            Job.state == JobState.QUEUED,
            Job.updated_at < now - timedelta(seconds=queued_for_s),
        )
    ).all()
    abandoned = session.scalars(
        select(Job).where(
            Job.state.in_(RUNNING_STATES),
            Job.updated_at < now - timedelta(seconds=silent_for_s),
        )
    ).all()
    lost = [job for job in waiting if job.id not in live_job_ids] + list(abandoned)
    for job in lost:
        requeue_job(session, job.id)
        enqueue(job.id, job_priority(job))
    return [job.id for job in lost]


def _stop_if_cancelled(job: Job) -> None:
    if job.state is JobState.CANCELLED:
        raise JobCancelledError(f"Задание {job.id} отменено. Job {job.id} was cancelled.")


def _end(session: Session, job_id: str, state: JobState, *, error: str | None) -> Job:
    job = get_job(session, job_id)
    if state is not JobState.CANCELLED:
        _stop_if_cancelled(job)
    if job.state.is_terminal:
        raise InvalidTransitionError(
            f"Задание {job_id} уже завершено ({job.state}). Job {job_id} is already {job.state}."
        )
    job.state = state
    job.error = error
    job.finished_at = utcnow()
    if state is JobState.DONE:
        job.progress = 1.0
    # In the same transaction: the end and its webhook event are saved together or not at all.
    record_job_event(session, job)
    session.commit()
    return job


def _clamp(progress: float) -> float:
    return min(1.0, max(0.0, progress))
