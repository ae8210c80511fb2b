"""Prometheus metrics computed at scrape time from the database and the broker.

Workers are separate processes (often on other machines), so in-process counters in
the API would see none of their work, and per-process counters would be counted once
per process. The job rows already hold every fact needed — states, start and finish
times, per-stage start times, the clip's duration — so ``JobMetricsCollector`` derives
everything from them on each scrape: one source, nothing counted twice. Counters and
histograms stay monotonic as long as job rows are kept (deleting clips lowers them,
which Prometheus treats as a counter reset).
"""

from __future__ import annotations

import glob
from collections.abc import Iterable, Iterator, Sequence

import redis
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from efir.config import Settings
from efir.db import Clip, Job, JobState, utcnow
from efir.jobs.lifecycle import RUNNING_STATES, stage_durations_s

__all__ = ["JobMetricsCollector", "histogram_buckets", "stage_durations_s"]

# Seconds: a short clip's decoding up to a long programme's transcription.
DURATION_BUCKETS_S = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)
# Processing time per second of audio; below 1 means faster than real time.
RTF_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10)
# Stages in order; decoding starts when the job is claimed (Job.started_at).
# kombu's Redis transport names priority sub-lists "<queue>\x06\x16<n>".
_PRIORITY_SEPARATOR = "\x06\x16"
_BROKER_TIMEOUT_S = 2.0


class JobMetricsCollector(Collector):
    """Jobs by state, queue age, broker backlog, durations per stage, real-time factor."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self._settings = settings
        self._sessions = sessions

    def collect(self) -> Iterator[Metric]:
        with self._sessions() as session:
            yield from _job_state_metrics(session)
            yield from _finished_job_metrics(session)
        yield from _broker_metrics(self._settings)

    def describe(self) -> Iterable[Metric]:
        return ()  # nothing to register up front; keeps registration free of queries


def histogram_buckets(values: Sequence[float], bounds: Sequence[float]) -> list[tuple[str, float]]:
    """Cumulative ``(le, count)`` pairs, ``+Inf`` last, as Prometheus histograms want."""
    buckets = [(_bound_label(bound), float(sum(v <= bound for v in values))) for bound in bounds]
    return [*buckets, ("+Inf", float(len(values)))]


def _job_state_metrics(session: Session) -> Iterator[Metric]:
    counts = dict(session.execute(select(Job.state, func.count()).group_by(Job.state)).all())
    jobs = GaugeMetricFamily("efir_jobs", "Jobs by current state.", labels=["state"])
    for state in JobState:
        jobs.add_metric([state.value], counts.get(state, 0))
    yield jobs
    yield CounterMetricFamily(
        "efir_job_failures", "Jobs that ended failed.", value=counts.get(JobState.FAILED, 0)
    )
    oldest = session.scalar(select(func.min(Job.created_at)).where(Job.state == JobState.QUEUED))
    if oldest is not None and oldest.tzinfo is None:  # func.min bypasses the UTC column type
        oldest = oldest.replace(tzinfo=utcnow().tzinfo)
    yield GaugeMetricFamily(
        "efir_oldest_queued_job_age_seconds",
        "Seconds since the oldest still-queued job was created; 0 when none waits.",
        value=(utcnow() - oldest).total_seconds() if oldest is not None else 0.0,
    )


def _finished_job_metrics(session: Session) -> Iterator[Metric]:
    rows = session.execute(
        select(Job.started_at, Job.finished_at, Job.stage_started_at, Clip.duration_s)
        .join(Clip, Clip.id == Job.clip_id)
        .where(Job.state == JobState.DONE, Job.started_at.is_not(None))
        .where(Job.finished_at.is_not(None))
    ).all()
    totals: list[float] = []
    per_stage: dict[str, list[float]] = {stage.value: [] for stage in RUNNING_STATES}
    rtfs: list[float] = []
    for started_at, finished_at, stage_started_at, duration_s in rows:
        total_s = (finished_at - started_at).total_seconds()
        totals.append(total_s)
        for stage, seconds in stage_durations_s(started_at, stage_started_at, finished_at).items():
            per_stage[stage].append(seconds)
        if duration_s:
            rtfs.append(total_s / duration_s)
    yield _histogram(
        "efir_job_duration_seconds", "Claim to done, per finished job.", totals, DURATION_BUCKETS_S
    )
    stages = HistogramMetricFamily(
        "efir_job_stage_duration_seconds", "Seconds per pipeline stage.", labels=["stage"]
    )
    for stage, values in per_stage.items():
        stages.add_metric([stage], histogram_buckets(values, DURATION_BUCKETS_S), sum(values))
    yield stages
    yield _histogram(
        "efir_job_real_time_factor",
        "Processing seconds per second of audio, per finished job.",
        rtfs,
        RTF_BUCKETS,
    )


def _broker_metrics(settings: Settings) -> Iterator[Metric]:
    up = GaugeMetricFamily("efir_broker_up", "1 when the broker answered this scrape.")
    if not settings.redis_url:
        up.add_metric([], 0)
        yield up
        return
    client = redis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=_BROKER_TIMEOUT_S,
        socket_timeout=_BROKER_TIMEOUT_S,
        decode_responses=True,
    )
    try:
        waiting = _messages_per_queue(client, settings.queue_name)
        unacked = int(client.hlen("unacked"))
    except redis.RedisError:
        up.add_metric([], 0)
        yield up
        return
    finally:
        client.close()
    up.add_metric([], 1)
    yield up
    messages = GaugeMetricFamily(
        "efir_broker_messages", "Messages waiting in the broker, per queue.", labels=["queue"]
    )
    for queue, count in sorted(waiting.items()):
        messages.add_metric([queue], count)
    yield messages
    yield GaugeMetricFamily(
        "efir_broker_unacked_messages",
        "Messages taken by workers and not yet acknowledged (jobs running).",
        value=unacked,
    )


def _messages_per_queue(client: redis.Redis, queue_name: str) -> dict[str, int]:
    """Lengths of ``queue_name`` and its sub-queues (``<name>.urgent``, priority lists)."""
    waiting = {queue_name: 0}
    for key in client.scan_iter(match=glob.escape(queue_name) + "*", _type="list"):
        base = str(key).split(_PRIORITY_SEPARATOR, 1)[0]
        if base == queue_name or base.startswith(queue_name + "."):
            waiting[base] = waiting.get(base, 0) + int(client.llen(key))
    return waiting


def _histogram(
    name: str, documentation: str, values: list[float], bounds: Sequence[float]
) -> Metric:
    histogram = HistogramMetricFamily(name, documentation)
    histogram.add_metric([], histogram_buckets(values, bounds), sum(values))
    return histogram


def _bound_label(bound: float) -> str:
    return str(float(bound))
