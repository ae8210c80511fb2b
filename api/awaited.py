"""Ingest an upload and answer when its job ends: what the OpenAI and whisper-asr-webservice
dialects need, since their clients expect the transcript in the response.

The upload goes the one way every upload goes (api/multipart.py, api/intake.py): a clip and
a queued job, stored, searchable and editable like any other. The request then polls the
job's row (the database is the truth; a worker on another host writes it) until the job
ends or ``EFIR_SYNC_WAIT_S`` passes, when the answer is 202 with the job's URL.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.auth import Principal
from api.intake import ingest_staged
from efir.config import Settings
from efir.db import Clip, Job, JobState
from efir.errors import EfirError
from efir.jobs.lifecycle import JobQueue, get_job
from efir.media.analyses import awaited_shot_changes
from efir.media.storage.base import MediaStorage, StagedMedia
from efir.transcripts.model import Transcript
from efir.transcripts.revisions import latest_revision

__all__ = ["Finished", "JobNotDoneError", "accepted", "ingest_and_wait"]

_POLL_S = 0.5


class JobNotDoneError(EfirError):
    """The job ended without a transcript: failed (its reason) or cancelled."""


@dataclass(frozen=True)
class Finished:
    """A job's outcome after the wait: the transcript, or None while it still runs."""

    job: Job
    clip: Clip
    transcript: Transcript | None
    shot_changes: tuple[float, ...] = ()  # s, which its subtitle exports are timed to
    shots_pending: bool = False  # done, but a video's shot changes may still arrive

    @property
    def headers(self) -> dict[str, str]:
        """Where the answer lives in efir, to edit or search it later."""
        return {"X-Efir-Job-Id": self.job.id, "X-Efir-Clip-Id": self.clip.id}


async def ingest_and_wait(
    request: Request,
    *,
    staged: StagedMedia,
    filename: str,
    fields: dict[str, str],
    settings: Settings,
    storage: MediaStorage,
    queue: JobQueue,
    uploader: Principal,
    wait_for_shots: bool = False,
) -> Finished:
    """Record and queue the upload, then wait for its job (and, with ``wait_for_shots``,
    for a video's shot changes, which subtitles are timed to); JobNotDoneError if it fails."""
    sessions: sessionmaker[Session] = request.app.state.sessions
    job = await ingest_staged(
        staged=staged,
        filename=filename,
        fields=fields,
        settings=settings,
        storage=storage,
        sessions=sessions,
        queue=queue,
        uploader=uploader,
    )
    deadline = time.monotonic() + settings.sync_wait_s
    while True:
        finished = await run_in_threadpool(_outcome, sessions, job.id)
        ready = finished.transcript is not None and not (wait_for_shots and finished.shots_pending)
        if ready or time.monotonic() >= deadline:
            return finished
        # A client that hung up gets nothing; its job goes on like any upload's.
        if await request.is_disconnected():
            return finished
        await asyncio.sleep(_POLL_S)


def _outcome(sessions: sessionmaker[Session], job_id: str) -> Finished:
    with sessions() as session:
        job = get_job(session, job_id)
        clip = session.get_one(Clip, job.clip_id)
        if job.state is JobState.FAILED:
            raise JobNotDoneError(job.error or "Задание не выполнено. The job failed.")
        if job.state is JobState.CANCELLED:
            raise JobNotDoneError(f"Задание {job.id} отменено. Job {job.id} was cancelled.")
        transcript = None
        if job.state is JobState.DONE:
            transcript = Transcript.from_dict(latest_revision(session, job.clip_id).data)
        shots = awaited_shot_changes(session, clip, job.finished_at)
        session.expunge_all()
        return Finished(
            job,
            clip,
            transcript,
            shot_changes=tuple(shots.times_s or ()),
            shots_pending=shots.pending,
        )


def accepted(finished: Finished, **extra: Any) -> JSONResponse:
    """202: the job still runs; ``Location`` is its status, the body says where the
    transcript will be."""
    job = finished.job
    return JSONResponse(
        {
            "id": job.id,
            "clip_id": job.clip_id,
            "status": job.state.value,
            "progress": job.progress,
            "job_url": f"/api/v1/jobs/{job.id}",
            "transcript_url": f"/api/v1/transcripts/{job.clip_id}",
            **extra,
        },
        status_code=202,
        headers={"Location": f"/api/v1/jobs/{job.id}", "Retry-After": "10", **finished.headers},
    )
