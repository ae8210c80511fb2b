"""The chunks of a long programme's job: planned, claimed, done, joined.

A long programme (longer than EFIR_CHUNKED_ABOVE_S) is cut at silences into chunks
that any free workers transcribe in parallel; one row per chunk lives in
``job_chunks``. The join is counted here, in the database, rather than by a Celery
chord: a chord needs a result backend and keeps its counter in Redis, which efir lets
lose data (efir.jobs.queue). Here each chunk marks itself done with a conditional UPDATE,
and the caller that finds no chunk left pending moves the job on from transcribing
with another conditional UPDATE: exactly one of them sends the merge. Nothing is lost
with the broker either: a job whose chunk or merge messages vanished goes silent, the
recovery sweep sends the job again, and the re-run keeps this plan and sends only
what is not done (``pending_chunks``).

    save_chunk_plan → start_chunk → finish_chunk … → (the last one) the merge
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session

from efir.db import Job, JobChunk, JobState, utcnow
from efir.jobs.lifecycle import RUNNING_STATES, get_job

__all__ = [
    "CHUNKS_PROGRESS_SPAN",
    "claim_merge",
    "finish_chunk",
    "job_chunks",
    "save_chunk_plan",
    "start_chunk",
]

# The share of a chunked job's overall progress its chunks fill, as done/total.
CHUNKS_PROGRESS_SPAN = (0.05, 0.85)


def save_chunk_plan(
    session: Session,
    job_id: str,
    spans: Sequence[tuple[float, float]],
    *,
    speech: Sequence[Sequence[tuple[float, float]]],
    audio_key: str,
) -> list[JobChunk]:
    """Replace the job's chunks with ``spans`` (seconds) of the audio under ``audio_key``,
    each with its VAD ``speech`` regions."""
    session.execute(delete(JobChunk).where(JobChunk.job_id == job_id))
    chunks = [
        JobChunk(
            job_id=job_id,
            position=i,
            start_s=start,
            end_s=end,
            speech=[list(region) for region in regions],
            audio_key=audio_key,
        )
        for i, ((start, end), regions) in enumerate(zip(spans, speech, strict=True))
    ]
    session.add_all(chunks)
    session.commit()
    return chunks


def job_chunks(session: Session, job_id: str) -> list[JobChunk]:
    query = select(JobChunk).where(JobChunk.job_id == job_id).order_by(JobChunk.position)
    return list(session.scalars(query.execution_options(populate_existing=True)).all())


def start_chunk(session: Session, job_id: str, position: int) -> JobChunk | None:
    """Count an attempt at a chunk; None when it is done already or its job is no longer
    transcribing (finished, failed, cancelled, or sent again and being re-planned)."""
    running = select(Job.id).where(Job.id == job_id, Job.state == JobState.TRANSCRIBING)
    started: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(JobChunk)
        .where(
            JobChunk.job_id == job_id,
            JobChunk.position == position,
            JobChunk.done.is_(False),
            JobChunk.job_id.in_(running),
        )
        .values(attempts=JobChunk.attempts + 1, updated_at=utcnow())
    )
    session.commit()
    if started.rowcount == 0:
        return None
    return session.get(JobChunk, (job_id, position), populate_existing=True)


def finish_chunk(session: Session, job_id: str, position: int, *, result_key: str) -> bool:
    """Mark a chunk done with its result; True if the caller must now send the merge."""
    marked: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(JobChunk)
        .where(JobChunk.job_id == job_id, JobChunk.position == position, JobChunk.done.is_(False))
        .values(done=True, result_key=result_key, updated_at=utcnow())
    )
    session.commit()
    if marked.rowcount == 0:
        return False  # a redelivered duplicate finished second; the first one counted
    total, done = session.execute(
        select(func.count(), func.count().filter(JobChunk.done.is_(True))).where(
            JobChunk.job_id == job_id
        )
    ).one()
    start, end = CHUNKS_PROGRESS_SPAN
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state.in_(RUNNING_STATES))
        .values(progress=start + (end - start) * done / total, updated_at=utcnow())
    )
    session.commit()
    return done == total and claim_merge(session, job_id)


def claim_merge(session: Session, job_id: str) -> bool:
    """Move the job from transcribing to speakers; True for the one caller that did."""
    job = get_job(session, job_id)
    # Written with the state, so the stage's start time reaches /metrics as with advance_job.
    stages = {**(job.stage_started_at or {}), JobState.SPEAKERS.value: utcnow().isoformat()}
    claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.TRANSCRIBING)
        .values(
            state=JobState.SPEAKERS,
            progress=CHUNKS_PROGRESS_SPAN[1],
            stage_started_at=stages,
            updated_at=utcnow(),
        )
    )
    session.commit()
    return bool(claimed.rowcount)
