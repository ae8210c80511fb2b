"""The Celery task's failure path through a real worker process: a permanent error
fails the job with its reason, once, without retries."""

from __future__ import annotations

import time
from pathlib import Path

from support.service_support import SEED_DIR, SettingsFactory, running_worker, session_factory

from efir.db import Clip, JobState
from efir.jobs.lifecycle import create_job, get_job
from efir.jobs.queue import enqueue_job, make_celery
from efir.media.storage.base import LocalStorage, file_chunks


def test_missing_media_fails_the_job_with_its_reason(
    make_settings: SettingsFactory, redis_url: str, queue_name: str, tmp_path: Path
) -> None:
    settings = make_settings(redis_url=redis_url, queue_name=queue_name)
    sessions = session_factory(settings.sqlalchemy_url)
    storage = LocalStorage(settings.media_dir)
    stored = storage.put_stream(file_chunks(SEED_DIR / "seed.wav"), max_bytes=10**9)
    with sessions() as session:
        clip = Clip(
            sha256=stored.sha256,
            original_filename="seed.wav",
            media_key=stored.key,
            size_bytes=stored.size_bytes,
        )
        session.add(clip)
        session.flush()
        job = create_job(session, clip_id=clip.id)
    storage.delete(stored.key)  # e.g. an operator cleaned the media volume
    enqueue_job(make_celery(settings), settings, job.id)
    with running_worker(settings, tmp_path / "worker.log"):
        deadline = time.monotonic() + 120
        while True:
            with sessions() as session:
                current = get_job(session, job.id)
            if current.state.is_terminal:
                break
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.2)
    assert current.state is JobState.FAILED
    assert current.error is not None and "Media file missing" in current.error
    assert current.attempts == 1
