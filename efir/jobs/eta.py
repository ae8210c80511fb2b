"""How long a running job has left, from speeds measured on this installation.

The stage running is timed as it goes: its rate is the share of the stage done over the
time spent in it, trusted only after a tenth of the stage and a few seconds (before that
the model is loading and the first batch is still decoding). The stages still to come
take what they took recent finished jobs per second of media. Until both are known the
answer is None, and the UI says «оценка…» rather than showing a number that is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import Session

from efir.db import Clip, Job, JobState
from efir.jobs.lifecycle import RUNNING_STATES, STAGE_PROGRESS, stage_durations_s

__all__ = ["remaining_s", "stage_seconds_per_media_s"]

MIN_STAGE_FRACTION = 0.1
MIN_STAGE_ELAPSED_S = 3.0
HISTORY_JOBS = 20


def remaining_s(
    job: Job, *, duration_s: float | None, per_media_s: Mapping[JobState, float], now: datetime
) -> float | None:
    """Seconds until ``job`` ends, or None while it cannot be said honestly."""
    if job.state not in RUNNING_STATES or job.started_at is None:
        return None
    recorded = (job.stage_started_at or {}).get(job.state.value)
    stage_start = datetime.fromisoformat(recorded) if recorded else job.started_at
    start, end = STAGE_PROGRESS[job.state]
    fraction = min(1.0, max(0.0, (job.progress - start) / (end - start)))
    elapsed = (now - stage_start).total_seconds()
    if fraction < MIN_STAGE_FRACTION or elapsed < MIN_STAGE_ELAPSED_S:
        return None
    later = RUNNING_STATES[RUNNING_STATES.index(job.state) + 1 :]
    if later and (duration_s is None or any(state not in per_media_s for state in later)):
        return None
    still_to_come = sum(per_media_s[state] * (duration_s or 0.0) for state in later)
    # Whole seconds: a live stream sends a job again only when what it shows changes.
    return float(round(elapsed * (1.0 - fraction) / fraction + still_to_come))


def stage_seconds_per_media_s(session: Session) -> dict[JobState, float]:
    """Median seconds each stage took per second of media over the recent finished jobs."""
    rows = session.execute(
        select(Job.started_at, Job.stage_started_at, Job.finished_at, Clip.duration_s)
        .join(Clip, Clip.id == Job.clip_id)
        .where(Job.state == JobState.DONE, Job.started_at.is_not(None), Clip.duration_s > 0)
        .order_by(Job.finished_at.desc())
        .limit(HISTORY_JOBS)
    ).all()
    samples: dict[JobState, list[float]] = {}
    for started_at, stage_started_at, finished_at, duration_s in rows:
        if finished_at is None:
            continue
        for stage, seconds in stage_durations_s(started_at, stage_started_at, finished_at).items():
            samples.setdefault(JobState(stage), []).append(seconds / duration_s)
    return {state: median(values) for state, values in samples.items()}
