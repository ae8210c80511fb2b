"""A video's shot changes arrive after its job is done, from a task of their own, on both
paths (a short clip, a long programme's merge); a shot measurement that fails leaves the
job done with its transcript; one the broker lost is sent again by the recovery sweep
(real worker, real model, Redis)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from support.programme_support import FIXTURES, store_clip_job
from support.service_support import SettingsFactory, running_worker, session_factory

from efir.db import Clip, ClipAnalysis, Job, JobState, utcnow
from efir.jobs.chunks import job_chunks
from efir.jobs.lifecycle import get_job
from efir.jobs.queue import enqueue_job, live_shot_clip_ids, make_celery, recover_lost_jobs
from efir.media.analyses import SHOTS, SHOTS_GRACE_S, load_shot_changes, requeue_lost_shots
from efir.media.storage.base import LocalStorage
from efir.transcripts.revisions import latest_revision
from worker.stages.shots import detect_shots

SHOTS_CLIP = FIXTURES / "shots" / "shots.mp4"
CAPTIONS_CLIP = FIXTURES / "captions" / "dev" / "dev3.mp4"
WORKER_TIMEOUT_S = 300.0

pytestmark = pytest.mark.slow


def _wait(condition: Callable[[], bool], log_path: Path) -> None:
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, log_path.read_text()[-4000:]
        time.sleep(0.2)


def _job(sessions: sessionmaker[Session], job_id: str) -> Job:
    with sessions() as session:
        return get_job(session, job_id)


def _shots_row(sessions: sessionmaker[Session], clip_id: str) -> ClipAnalysis | None:
    with sessions() as session:
        return session.scalar(
            select(ClipAnalysis).where(ClipAnalysis.clip_id == clip_id, ClipAnalysis.kind == SHOTS)
        )


def _measured(sessions: sessionmaker[Session], clip_id: str) -> bool:
    with sessions() as session:
        return load_shot_changes(session, clip_id) is not None


def _assert_done_then_shots(sessions: sessionmaker[Session], job: Job, clip: Path) -> None:
    """The job done with a transcript; its shot changes, stored after it ended, are the
    detector's."""
    assert job.state is JobState.DONE, job.error
    with sessions() as session:
        assert latest_revision(session, job.clip_id).data["segments"]
        assert load_shot_changes(session, job.clip_id) == detect_shots(clip)
    shots = _shots_row(sessions, job.clip_id)
    assert shots is not None and job.finished_at is not None
    assert shots.created_at >= job.finished_at


def test_a_chunked_video_gets_its_shot_changes_after_the_merge(
    make_settings: SettingsFactory, redis_url: str, queue_name: str, tmp_path: Path
) -> None:
    # The 52 s clip counts as a long programme here: chunks, then one merge.
    settings = make_settings(
        redis_url=redis_url, queue_name=queue_name, chunked_above_s=20.0, chunk_seconds=30.0
    )
    sessions = session_factory(settings.sqlalchemy_url)
    job_id = store_clip_job(sessions, LocalStorage(settings.media_dir), SHOTS_CLIP)
    log_path = tmp_path / "worker.log"
    enqueue_job(make_celery(settings), settings, job_id)
    with running_worker(settings, log_path):
        _wait(lambda: _job(sessions, job_id).state.is_terminal, log_path)
        clip_id = _job(sessions, job_id).clip_id
        _wait(lambda: _measured(sessions, clip_id), log_path)
    assert "long programme merged" in log_path.read_text()
    with sessions() as session:
        assert job_chunks(session, job_id)
    _assert_done_then_shots(sessions, _job(sessions, job_id), SHOTS_CLIP)


def test_a_failed_shot_measurement_leaves_its_job_done(
    make_settings: SettingsFactory, redis_url: str, queue_name: str, tmp_path: Path
) -> None:
    settings = make_settings(redis_url=redis_url, queue_name=queue_name)
    sessions = session_factory(settings.sqlalchemy_url)
    storage = LocalStorage(settings.media_dir)
    lost = store_clip_job(sessions, storage, SHOTS_CLIP)
    kept = store_clip_job(sessions, storage, CAPTIONS_CLIP)
    celery = make_celery(settings)
    for job_id in (lost, kept):
        enqueue_job(celery, settings, job_id)
    log_path = tmp_path / "worker.log"
    with running_worker(settings, log_path):
        # Jobs outrank shot measurements (the bulk queue), so the worker is on the second
        # job when the first is done; its media goes before its shots are measured.
        _wait(lambda: _job(sessions, lost).state.is_terminal, log_path)
        done = _job(sessions, lost)
        with sessions() as session:
            storage.delete(session.get_one(Clip, done.clip_id).media_key)
        _wait(lambda: "shot changes not measured" in log_path.read_text(), log_path)
        _wait(lambda: _measured(sessions, _job(sessions, kept).clip_id), log_path)
    assert "Media file missing" in log_path.read_text()
    # The failure changed nothing of the job: done, same end, its transcript kept.
    after = _job(sessions, lost)
    assert (done.state, after.state, after.error) == (JobState.DONE, JobState.DONE, None)
    assert after.finished_at == done.finished_at
    with sessions() as session:
        assert latest_revision(session, after.clip_id).data["segments"]
        assert load_shot_changes(session, after.clip_id) is None
    # Recorded as failed, so the recovery sweep does not send it again.
    failed = _shots_row(sessions, after.clip_id)
    assert failed is not None and failed.data["times_s"] is None
    assert "Media file missing" in failed.data["error"]
    _assert_done_then_shots(sessions, _job(sessions, kept), CAPTIONS_CLIP)


def test_the_recovery_sweep_measures_a_video_whose_shot_task_was_lost(
    make_settings: SettingsFactory, redis_url: str, queue_name: str, tmp_path: Path
) -> None:
    settings = make_settings(redis_url=redis_url, queue_name=queue_name)
    sessions = session_factory(settings.sqlalchemy_url)
    job_id = store_clip_job(sessions, LocalStorage(settings.media_dir), SHOTS_CLIP)
    # Done minutes ago; Redis restarted since and forgot the shot task sent at its end.
    with sessions() as session:
        job = session.get_one(Job, job_id)
        job.state, job.finished_at = JobState.DONE, utcnow() - timedelta(seconds=SHOTS_GRACE_S)
        clip_id = job.clip_id
        session.commit()
    assert recover_lost_jobs(settings, sessions, make_celery(settings)) == []  # no job lost
    assert clip_id in live_shot_clip_ids(settings)  # but its shot task is sent again
    log_path = tmp_path / "worker.log"
    with running_worker(settings, log_path):
        _wait(lambda: _measured(sessions, clip_id), log_path)
    with sessions() as session:
        assert load_shot_changes(session, clip_id) == detect_shots(SHOTS_CLIP)
        # Measured now: a sweep leaves it alone.
        resent: list[str] = []
        assert requeue_lost_shots(session, resent.append, live_clip_ids=set()) == resent == []
