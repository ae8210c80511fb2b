"""Time left for a running job: nothing until the stage running has been timed, then its
measured rate plus what the stages to come took recent jobs per second of media."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from support.service_support import fresh_postgres_database, session_factory

from efir.db import Clip, Job, JobState
from efir.jobs.eta import remaining_s, stage_seconds_per_media_s

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
HISTORY = {JobState.SPEAKERS: 0.1, JobState.INDEXING: 0.01}


def _running(state: JobState, progress: float, stage_for_s: float) -> Job:
    stage_start = NOW - timedelta(seconds=stage_for_s)
    return Job(
        clip_id="c",
        state=state,
        progress=progress,
        started_at=stage_start - timedelta(seconds=5),
        stage_started_at={state.value: stage_start.isoformat()},
    )


def test_nothing_is_said_before_the_stage_has_been_timed() -> None:
    # 5 % overall is the very start of transcription: the model may still be loading.
    early = _running(JobState.TRANSCRIBING, 0.05, stage_for_s=21)
    assert remaining_s(early, duration_s=600, per_media_s=HISTORY, now=NOW) is None
    just_started = _running(JobState.TRANSCRIBING, 0.4, stage_for_s=1)
    assert remaining_s(just_started, duration_s=600, per_media_s=HISTORY, now=NOW) is None


def test_the_stage_rate_plus_the_stages_to_come() -> None:
    # Transcription is half done (0.05 + 0.4) after 30 s: 30 s more, then speakers and
    # indexing at 0.1 and 0.01 s per media second for 600 s of media.
    halfway = _running(JobState.TRANSCRIBING, 0.45, stage_for_s=30)
    assert remaining_s(halfway, duration_s=600, per_media_s=HISTORY, now=NOW) == 30 + 60 + 6
    # No history for the stages to come: no number rather than a wrong one.
    assert remaining_s(halfway, duration_s=600, per_media_s={}, now=NOW) is None
    # The last stage needs no history.
    indexing = _running(JobState.INDEXING, 0.975, stage_for_s=4)
    assert remaining_s(indexing, duration_s=600, per_media_s={}, now=NOW) == 4
    assert remaining_s(Job(state=JobState.QUEUED), duration_s=1, per_media_s={}, now=NOW) is None


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[str]:
    """A database of this test's own: the history reads every finished job in it."""
    if request.param == "sqlite":
        yield sqlite_url
        return
    with fresh_postgres_database(f"efir_eta_{uuid.uuid4().hex[:8]}") as url:
        yield url


def test_history_is_seconds_per_media_second_of_recent_jobs(empty_database: str) -> None:
    sessions = session_factory(empty_database)
    with sessions() as session:
        clip = Clip(sha256="e" * 64, original_filename="x.wav", media_key="k", size_bytes=1)
        clip.duration_s = 100.0
        session.add(clip)
        session.flush()
        start = NOW - timedelta(minutes=10)
        stages = {
            "transcribing": (start + timedelta(seconds=5)).isoformat(),
            "speakers": (start + timedelta(seconds=25)).isoformat(),
            "indexing": (start + timedelta(seconds=35)).isoformat(),
        }
        session.add(
            Job(
                clip_id=clip.id,
                state=JobState.DONE,
                progress=1.0,
                started_at=start,
                stage_started_at=stages,
                finished_at=start + timedelta(seconds=36),
            )
        )
        session.commit()
        history = stage_seconds_per_media_s(session)
    sessions.kw["bind"].dispose()
    assert history == {
        JobState.DECODING: 0.05,
        JobState.TRANSCRIBING: 0.2,
        JobState.SPEAKERS: 0.1,
        JobState.INDEXING: 0.01,
    }
