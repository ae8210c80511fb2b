"""Jobs: list, status, a server-sent event stream of status until the job ends,
and the queue controls: cancel, retry, priority."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.auth import require
from api.deps import JobQueueDep, SessionDep
from api.params import PageLimit, PageOffset
from api.schemas import JobPriorityRequest, JobPublic, JobsPublic
from efir.accounts.users import Permission
from efir.db import Clip, Job, JobState, utcnow
from efir.jobs.eta import remaining_s, stage_seconds_per_media_s
from efir.jobs.lifecycle import (
    RUNNING_STATES,
    cancel_job,
    get_job,
    list_jobs,
    retry_job,
    send_to_workers,
    set_job_priority,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])

_EVENT_POLL_S = 0.5
# Comment lines keep proxies from closing a quiet stream.
_KEEPALIVE_S = 15.0


@router.get("", response_model=JobsPublic, dependencies=[require(Permission.READ)])
def list_all_jobs(
    session: SessionDep, limit: PageLimit = 100, offset: PageOffset = 0
) -> JobsPublic:
    """Jobs, newest first."""
    jobs = list_jobs(session, limit=min(limit, 500), offset=offset)
    count = session.scalar(select(func.count()).select_from(Job)) or 0
    return JobsPublic(data=_with_eta(session, jobs), count=count)


@router.get("/{job_id}", response_model=JobPublic, dependencies=[require(Permission.READ)])
def get_one_job(job_id: str, session: SessionDep) -> JobPublic:
    return _with_eta(session, [get_job(session, job_id)])[0]


@router.post("/{job_id}/cancel", response_model=JobPublic, dependencies=[require(Permission.QUEUE)])
def cancel_one_job(job_id: str, session: SessionDep, queue: JobQueueDep) -> JobPublic:
    """Cancel a queued or running job (409 once it has ended); a running worker stops."""
    job = cancel_job(session, job_id)
    queue.withdraw(job_id)
    return JobPublic.model_validate(job)


@router.post(
    "/{job_id}/retry",
    status_code=202,
    response_model=JobPublic,
    dependencies=[require(Permission.QUEUE)],
)
def retry_one_job(job_id: str, session: SessionDep, queue: JobQueueDep) -> JobPublic:
    """Queue a failed or cancelled job again (409 for any other state)."""
    job = retry_job(session, job_id)
    send_to_workers(queue, job)
    return JobPublic.model_validate(job)


@router.post(
    "/{job_id}/priority", response_model=JobPublic, dependencies=[require(Permission.QUEUE)]
)
def set_one_job_priority(
    job_id: str, request: JobPriorityRequest, session: SessionDep, queue: JobQueueDep
) -> JobPublic:
    """``{"priority": "urgent" | "normal"}``; a waiting job moves to that queue at once."""
    job = set_job_priority(session, job_id, request.priority)
    if job.state is JobState.QUEUED:
        queue.withdraw(job_id)
        send_to_workers(queue, job)
    return JobPublic.model_validate(job)


@router.get("/{job_id}/events", dependencies=[require(Permission.READ)])
async def job_events(job_id: str, request: Request) -> StreamingResponse:
    """``text/event-stream`` of JobPublic JSON on every change, ending when the job ends."""
    sessions: sessionmaker[Session] = request.app.state.sessions
    first = await run_in_threadpool(_snapshot, sessions, job_id)  # 404 before streaming
    return StreamingResponse(
        _stream(sessions, job_id, first, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(
    sessions: sessionmaker[Session], job_id: str, first: JobPublic, request: Request
) -> AsyncIterator[str]:
    current: JobPublic | None = first
    sent: JobPublic | None = None
    quiet_s = 0.0
    while current is not None:
        if current != sent:
            yield f"event: job\ndata: {current.model_dump_json()}\n\n"
            sent, quiet_s = current, 0.0
            if current.state.is_terminal:
                return
        elif quiet_s >= _KEEPALIVE_S:
            yield ": keepalive\n\n"
            quiet_s = 0.0
        if await request.is_disconnected():
            return
        await asyncio.sleep(_EVENT_POLL_S)
        quiet_s += _EVENT_POLL_S
        current = await run_in_threadpool(_snapshot, sessions, job_id)


def _snapshot(sessions: sessionmaker[Session], job_id: str) -> JobPublic:
    with sessions() as session:
        return _with_eta(session, [get_job(session, job_id)])[0]


def _with_eta(session: Session, jobs: Sequence[Job]) -> list[JobPublic]:
    """Public jobs, the running ones with their time left (one history query for all)."""
    running = [job for job in jobs if job.state in RUNNING_STATES]
    per_media_s = stage_seconds_per_media_s(session) if running else {}
    durations = {
        clip.id: clip.duration_s
        for clip in session.scalars(select(Clip).where(Clip.id.in_({j.clip_id for j in running})))
    }
    now = utcnow()
    public = []
    for job in jobs:
        entry = JobPublic.model_validate(job)
        if job.state in RUNNING_STATES:
            entry.eta_s = remaining_s(
                job, duration_s=durations.get(job.clip_id), per_media_s=per_media_s, now=now
            )
        public.append(entry)
    return public
