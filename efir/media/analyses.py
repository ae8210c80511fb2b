"""What a worker measured once on a clip's media, kept for later readers.

A stage computes an analysis (waveform peaks for the editor, shot changes for the cue
cutter) from the decoded media; the task stores it here under a ``kind``; the API and the
exports read it back. One row per clip and kind: measuring again replaces it.

Shot changes are measured by a task of their own, queued when a video's job is done
(worker/tasks.py), so for a moment a done clip has none yet: what writes subtitles once,
at the job's end (watch folders, the synchronous compatible APIs), waits for them while
``awaited_shot_changes`` says they may still come. Their task first stores a "measuring"
record, replaced by the times or by the reason they could not be measured: a video with no
record at all had its message lost, and the recovery sweep sends it again
(``requeue_lost_shots``); one that crashed its worker while measuring is not retried.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from efir.db import Clip, ClipAnalysis, Job, JobState, utcnow

__all__ = [
    "PEAKS",
    "SHOTS",
    "SHOTS_GRACE_S",
    "SHOTS_MEASURING",
    "AwaitedShotChanges",
    "awaited_shot_changes",
    "load_analysis",
    "load_shot_changes",
    "requeue_lost_shots",
    "save_analysis",
]

# The editor's waveform: {"bucket_s", "scale", "peaks": [int]} (worker/stages/peaks.py).
PEAKS = "peaks"
# The picture's shot changes: {"times_s": [float]} (worker/stages/shots.py); while their
# task measures, SHOTS_MEASURING; if it could not, {"times_s": None, "error": reason}.
SHOTS = "shots"
# How long after its job is done a video's shot changes are worth waiting for: their task
# takes a few seconds, but waits on the bulk queue behind any long programme's chunk.
SHOTS_GRACE_S = 120.0
# The SHOTS record while its task measures: no times yet (``load_shot_changes`` None).
SHOTS_MEASURING: dict[str, Any] = {"times_s": None, "state": "measuring"}
# How far back the recovery sweep looks for a video whose shot task was lost: older clips
# (transcribed before shot changes were measured) are not measured behind the editor's back.
_SHOTS_LOST_WITHIN_S = 86_400.0


def save_analysis(session: Session, clip_id: str, kind: str, data: dict[str, Any]) -> None:
    """Store ``data`` as the clip's ``kind`` analysis, replacing an earlier one; the caller
    commits."""
    session.execute(
        delete(ClipAnalysis).where(ClipAnalysis.clip_id == clip_id, ClipAnalysis.kind == kind)
    )
    session.add(ClipAnalysis(clip_id=clip_id, kind=kind, data=data))


def load_analysis(session: Session, clip_id: str, kind: str) -> dict[str, Any] | None:
    """The clip's ``kind`` analysis, or None if it was never measured (an older clip, or
    audio only for a picture analysis)."""
    return session.scalar(
        select(ClipAnalysis.data).where(ClipAnalysis.clip_id == clip_id, ClipAnalysis.kind == kind)
    )


def load_shot_changes(session: Session, clip_id: str) -> list[float] | None:
    """The clip's shot changes (s), which subtitle exports are timed to; None if not
    measured (audio only, a clip transcribed before the measurement existed, or being
    measured, or the measurement failed)."""
    return _shot_times(load_analysis(session, clip_id, SHOTS))


@dataclass(frozen=True)
class AwaitedShotChanges:
    """A clip's shot changes as a writer of subtitles at its job's end sees them."""

    times_s: list[float] | None  # as ``load_shot_changes``
    # Not stored yet but may still arrive: the job was done less than SHOTS_GRACE_S ago.
    pending: bool


def awaited_shot_changes(
    session: Session, clip: Clip, job_finished_at: datetime | None
) -> AwaitedShotChanges:
    """The clip's shot changes, and whether they may still arrive (one read of the record).
    Never pending for audio, a job not done, or once SHOTS_GRACE_S is past (measuring them
    failed: its exports are timed to speech alone)."""
    shots = load_analysis(session, clip.id, SHOTS)
    in_grace = (
        clip.has_video
        and job_finished_at is not None
        and utcnow() - job_finished_at <= timedelta(seconds=SHOTS_GRACE_S)
    )
    pending = in_grace and (shots is None or shots == SHOTS_MEASURING)
    return AwaitedShotChanges(times_s=_shot_times(shots), pending=pending)


def _shot_times(shots: dict[str, Any] | None) -> list[float] | None:
    if shots is None or shots["times_s"] is None:
        return None
    return [float(time_s) for time_s in shots["times_s"]]


def requeue_lost_shots(
    session: Session, send: Callable[[str], None], *, live_clip_ids: Set[str]
) -> list[str]:
    """Send again the shot measurement of videos done SHOTS_GRACE_S to a day ago that have
    no SHOTS record and no message in the broker (Redis lost it); returns their clip ids."""
    now = utcnow()
    unmeasured = session.scalars(
        select(Clip.id)
        .join(Job, Job.clip_id == Clip.id)
        .where(
            Clip.has_video.is_(True),
            Job.state == JobState.DONE,
            Job.finished_at <= now - timedelta(seconds=SHOTS_GRACE_S),
            Job.finished_at > now - timedelta(seconds=_SHOTS_LOST_WITHIN_S),
            ~exists().where(ClipAnalysis.clip_id == Clip.id, ClipAnalysis.kind == SHOTS),
        )
        .distinct()
    ).all()
    lost = [clip_id for clip_id in unmeasured if clip_id not in live_clip_ids]
    for clip_id in lost:
        send(clip_id)
    return lost
