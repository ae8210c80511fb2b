"""Cancel, retry and priority: the state machine, the broker's queues, a real worker.

Jobs whose media is missing fail the moment a worker claims them, so a real worker
shows claim order, skipping and retries in seconds without running the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from support.service_support import (
    SettingsFactory,
    cut_seed,
    running_api,
    running_worker,
    session_factory,
)

from efir.config import Settings
from efir.db import Clip, Job, JobState, utcnow
from efir.jobs.lifecycle import (
    RUNNING_STATES,
    InvalidTransitionError,
    JobCancelledError,
    JobPriority,
    advance_job,
    cancel_job,
    claim_job,
    create_job,
    fail_job,
    finish_job,
    get_job,
    job_priority,
    retry_job,
    set_job_priority,
    set_progress,
)
from efir.jobs.queue import (
    enqueue_job,
    live_job_ids,
    make_celery,
    recover_lost_jobs,
    withdraw_job,
)
from efir.transcripts.revisions import list_revisions

WORKER_TIMEOUT_S = 120.0


def _new_job(session: Session, priority: JobPriority = JobPriority.NORMAL) -> Job:
    # The media key names nothing in storage: a worker fails such a job at once.
    clip = Clip(sha256="b" * 64, original_filename="молния.mp4", media_key="k", size_bytes=1)
    session.add(clip)
    session.flush()
    return create_job(session, clip_id=clip.id, priority=priority)


def test_a_cancelled_running_job_stops_its_worker_at_the_next_write(database_url: str) -> None:
    sessions = session_factory(database_url)
    with sessions() as session:
        job = _new_job(session)
        claim_job(session, job.id)
        advance_job(session, job.id, JobState.TRANSCRIBING, 0.3)
        cancel_job(session, job.id)
        with pytest.raises(JobCancelledError):
            set_progress(session, job.id, 0.5)
        with pytest.raises(JobCancelledError):
            advance_job(session, job.id, JobState.SPEAKERS, 0.9)
        with pytest.raises(JobCancelledError):
            finish_job(session, job.id)
        assert claim_job(session, job.id) is None  # a redelivered message does nothing
        current = get_job(session, job.id)
        assert (current.state, current.progress) == (JobState.CANCELLED, 0.3)


def test_only_failed_or_cancelled_jobs_are_retried(database_url: str) -> None:
    sessions = session_factory(database_url)
    with sessions() as session:
        failed, cancelled, queued = (_new_job(session) for _ in range(3))
        claim_job(session, failed.id)
        fail_job(session, failed.id, "Файл повреждён")
        cancel_job(session, cancelled.id)
        for job_id in (failed.id, cancelled.id):
            again = retry_job(session, job_id)
            assert (again.state, again.error, again.finished_at) == (JobState.QUEUED, None, None)
        with pytest.raises(InvalidTransitionError, match="Only a failed or cancelled"):
            retry_job(session, queued.id)
        claim_job(session, failed.id)
        advance_job(session, failed.id, JobState.INDEXING, 0.95)
        finish_job(session, failed.id)
        with pytest.raises(InvalidTransitionError):
            retry_job(session, failed.id)


def test_priority_is_kept_with_the_job(database_url: str) -> None:
    sessions = session_factory(database_url)
    with sessions() as session:
        job = _new_job(session, JobPriority.URGENT)
        assert job_priority(get_job(session, job.id)) is JobPriority.URGENT
        set_job_priority(session, job.id, JobPriority.NORMAL)
        assert job_priority(get_job(session, job.id)) is JobPriority.NORMAL


def test_the_broker_view_covers_the_urgent_queue(
    make_settings: SettingsFactory, redis_url: str, queue_name: str
) -> None:
    settings = make_settings(redis_url=redis_url, queue_name=queue_name)
    celery = make_celery(settings)
    enqueue_job(celery, settings, "urgent-one", JobPriority.URGENT)
    enqueue_job(celery, settings, "normal-one")
    try:
        assert live_job_ids(settings) == {"urgent-one", "normal-one"}
        assert withdraw_job(settings, "urgent-one") == 1
        assert live_job_ids(settings) == {"normal-one"}
    finally:
        withdraw_job(settings, "normal-one")


def test_recovery_sends_a_lost_urgent_job_back_to_the_urgent_queue(
    make_settings: SettingsFactory, redis_url: str, queue_name: str
) -> None:
    settings = make_settings(redis_url=redis_url, queue_name=queue_name)
    sessions = session_factory(settings.sqlalchemy_url)
    with sessions() as session:
        job = _new_job(session, JobPriority.URGENT)
        session.execute(
            update(Job).where(Job.id == job.id).values(updated_at=utcnow() - timedelta(minutes=5))
        )
        session.commit()
    client = redis.Redis.from_url(redis_url)
    try:
        assert recover_lost_jobs(settings, sessions, make_celery(settings)) == [job.id]
        assert client.llen(f"{queue_name}.urgent") == 1
        assert client.llen(queue_name) == 0
    finally:
        client.delete(f"{queue_name}.urgent")


@pytest.fixture
def live_api(
    make_settings: SettingsFactory, redis_url: str, queue_name: str
) -> Iterator[tuple[httpx.Client, Settings, sessionmaker[Session]]]:
    """A live API on this test's queues; the urgent queue is emptied afterwards too."""
    settings = make_settings(redis_url=redis_url, queue_name=queue_name)
    sessions = session_factory(settings.sqlalchemy_url)
    with running_api(settings) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        yield client, settings, sessions
    redis.Redis.from_url(redis_url).delete(f"{queue_name}.urgent")


def _wait_until(
    sessions: sessionmaker[Session], job_id: str, log: Path, done: Callable[[Job], bool]
) -> Job:
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    while True:
        with sessions() as session:
            job = get_job(session, job_id)
        if done(job):
            return job
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-4000:]
        time.sleep(0.2)


def _ended(job: Job) -> bool:
    return job.state.is_terminal


def test_an_urgent_job_overtakes_queued_normal_ones(
    live_api: tuple[httpx.Client, Settings, sessionmaker[Session]], tmp_path: Path
) -> None:
    client, settings, sessions = live_api
    celery = make_celery(settings)
    with sessions() as session:
        jobs = [_new_job(session) for _ in range(4)]
    for job in jobs:
        enqueue_job(celery, settings, job.id)
    # The last two in line become breaking news. Two, because kombu's default
    # round-robin would take one urgent job first too, then a normal one.
    breaking = {job.id for job in jobs[2:]}
    for job_id in breaking:
        response = client.post(f"/api/v1/jobs/{job_id}/priority", json={"priority": "urgent"})
        assert response.status_code == 200, response.text
        assert response.json()["priority"] == "urgent"
    bad = client.post(f"/api/v1/jobs/{jobs[0].id}/priority", json={"priority": "asap"})
    assert bad.status_code == 422
    log = tmp_path / "worker.log"
    with running_worker(settings, log):  # one worker, one job at a time
        ended = [_wait_until(sessions, job.id, log, _ended) for job in jobs]
    # Moved to the urgent queue, not copied: each ran once, urgent ones before the rest.
    assert [job.attempts for job in ended] == [1, 1, 1, 1]
    started = sorted((job.started_at, job.id) for job in ended if job.started_at)
    assert {job_id for _, job_id in started[:2]} == breaking


def test_cancel_and_retry_through_a_worker(
    live_api: tuple[httpx.Client, Settings, sessionmaker[Session]], tmp_path: Path
) -> None:
    client, settings, sessions = live_api
    celery = make_celery(settings)
    with sessions() as session:
        cancelled, other = _new_job(session), _new_job(session)
    enqueue_job(celery, settings, cancelled.id)
    enqueue_job(celery, settings, other.id)
    response = client.post(f"/api/v1/jobs/{cancelled.id}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "cancelled"
    assert cancelled.id not in live_job_ids(settings)  # its message was withdrawn
    # A message a worker took before the cancel: it must leave the job as it is.
    enqueue_job(celery, settings, cancelled.id)
    log = tmp_path / "worker.log"
    with running_worker(settings, log):
        failed = _wait_until(sessions, other.id, log, _ended)
        assert failed.state is JobState.FAILED
        twice = client.post(f"/api/v1/jobs/{cancelled.id}/cancel")
        assert twice.status_code == 409
        not_failed = client.post(f"/api/v1/jobs/{other.id}/cancel")
        assert not_failed.status_code == 409
        while cancelled.id in live_job_ids(settings):  # the stray message is consumed
            time.sleep(0.2)
        with sessions() as session:
            skipped = get_job(session, cancelled.id)
        assert (skipped.state, skipped.attempts) == (JobState.CANCELLED, 0)

        for job_id, attempts in ((other.id, 2), (cancelled.id, 1)):
            retried = client.post(f"/api/v1/jobs/{job_id}/retry")
            assert retried.status_code == 202, retried.text
            assert retried.json()["state"] == "queued"
            ended = _wait_until(
                sessions, job_id, log, lambda job, n=attempts: job.attempts == n and _ended(job)
            )
            assert ended.state is JobState.FAILED
    refused = client.post(f"/api/v1/jobs/{'0' * 32}/retry")
    assert refused.status_code == 404


@pytest.mark.slow
def test_a_job_cancelled_mid_run_stops_and_saves_nothing(
    live_api: tuple[httpx.Client, Settings, sessionmaker[Session]], tmp_path: Path
) -> None:
    client, settings, sessions = live_api
    media = cut_seed(tmp_path / "cut.mp4", start_s=0, duration_s=20)
    with media.open("rb") as file:
        uploaded = client.post("/api/v1/clips", files={"file": ("cut.mp4", file, "video/mp4")})
    assert uploaded.status_code == 202, uploaded.text
    job_id = uploaded.json()["id"]
    log = tmp_path / "worker.log"
    with running_worker(settings, log):
        _wait_until(sessions, job_id, log, lambda job: job.state in RUNNING_STATES)
        cancelled = client.post(f"/api/v1/jobs/{job_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        deadline = time.monotonic() + WORKER_TIMEOUT_S
        while "stopped, nothing written" not in log.read_text(errors="replace"):
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-4000:]
            time.sleep(0.2)
    with sessions() as session:
        job = get_job(session, job_id)
        assert (job.state, job.progress) == (JobState.CANCELLED, cancelled.json()["progress"])
        assert list_revisions(session, job.clip_id) == []
