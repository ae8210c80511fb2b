"""A video long enough to run in chunks keeps its shot changes: the merge, which sees
the whole programme once, measures them like a short clip's pipeline does (real worker,
real model, Redis)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support.programme_support import store_clip_job
from support.service_support import SettingsFactory, running_worker, session_factory

from efir.db import JobState
from efir.jobs.chunks import job_chunks
from efir.jobs.lifecycle import get_job
from efir.jobs.queue import enqueue_job, make_celery
from efir.media.analyses import load_shot_changes
from efir.media.storage.base import LocalStorage
from worker.stages.shots import detect_shots

SHOTS_CLIP = Path(__file__).resolve().parents[1] / "fixtures" / "shots" / "shots.mp4"
WORKER_TIMEOUT_S = 300.0

pytestmark = pytest.mark.slow


def test_a_chunked_video_stores_its_shot_changes(
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
        deadline = time.monotonic() + WORKER_TIMEOUT_S
        while True:
            with sessions() as session:
                job = get_job(session, job_id)
                if job.state.is_terminal:
                    break
            assert time.monotonic() < deadline, log_path.read_text()[-4000:]
            time.sleep(0.5)
    assert job.state is JobState.DONE, job.error
    assert "long programme merged" in log_path.read_text()
    with sessions() as session:
        assert job_chunks(session, job_id)
        assert load_shot_changes(session, job.clip_id) == detect_shots(SHOTS_CLIP)
