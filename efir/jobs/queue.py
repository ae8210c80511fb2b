"""The Celery queue as both sides see it: the API sends job ids, workers consume them.

Only job ids travel through Redis; the job's state lives in the database. So when
Redis restarts and forgets its messages, ``recover_lost_jobs`` (run when the API or a
worker starts, and every minute by the API) finds the queued jobs with no message
left in the broker and sends them again.

Breaking news goes to its own queue, ``<queue_name>.urgent``, listed first in every
worker's ``--queues``. kombu's Redis transport rotates the queues it polls after each
message by default (``round_robin``), which would let a normal job go before a
waiting urgent one; the ``priority`` queue order keeps the listed order, so a worker
(prefetching one message at a time) always takes an urgent job first while one waits.

Webhook deliveries (efir.webhooks.delivery) travel the same way, as ids, on the urgent queue: a
delivery takes a moment and a newsroom system is waiting for it. The recovery sweep
also re-sends deliveries that are overdue and that no worker is making.

Long programmes (worker/chunked.py) are cut into chunks whose tasks go to a
third queue, ``<queue_name>.bulk``, listed last: a worker finishing a chunk takes any
waiting short clip or breaking news before the programme's next chunk, so a two-hour
programme delays them by one chunk at most. The programme's merge, short, goes to the
normal queue. A clip's shot changes, measured only for subtitle timing once its transcript
is saved (worker/tasks.py), wait on the bulk queue too: no transcript waits for them; the
sweep sends a lost one again (efir.media.analyses.requeue_lost_shots).
"""

from __future__ import annotations

import base64
import json
import logging

import redis
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from efir.config import Settings
from efir.cuts.jobs import requeue_lost_cuts
from efir.jobs.lifecycle import JobPriority, requeue_lost_jobs
from efir.media.analyses import requeue_lost_shots
from efir.webhooks.delivery import requeue_lost_deliveries

__all__ = [
    "CHUNK_TASK",
    "CUT_TASK",
    "DELIVER_WEBHOOK_TASK",
    "MERGE_TASK",
    "SHOTS_TASK",
    "TRANSCRIBE_TASK",
    "CeleryJobQueue",
    "bulk_queue",
    "enqueue_chunk",
    "enqueue_cut",
    "enqueue_delivery",
    "enqueue_job",
    "enqueue_merge",
    "enqueue_shots",
    "live_cut_ids",
    "live_job_ids",
    "live_shot_clip_ids",
    "make_celery",
    "queue_for",
    "recover_lost_jobs",
    "withdraw_job",
    "worker_queues",
]

TRANSCRIBE_TASK = "efir.transcribe_clip"
DELIVER_WEBHOOK_TASK = "efir.deliver_webhook"
CHUNK_TASK = "efir.transcribe_chunk"
MERGE_TASK = "efir.merge_chunks"
CUT_TASK = "efir.cut_media"
SHOTS_TASK = "efir.measure_shots"
# acks_late keeps a message "unacked" while it runs; a job longer than this would be
# handed to a second worker, so it must exceed the longest clip's processing time.
VISIBILITY_TIMEOUT_S = 12 * 3600
# kombu's Redis transport spreads priorities over these list-name suffixes.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")

log = logging.getLogger(__name__)


def make_celery(settings: Settings) -> Celery:
    if not settings.redis_url:
        raise RuntimeError("EFIR_REDIS_URL is not set (efir serve starts an embedded Redis)")
    app = Celery("efir", broker=settings.redis_url, set_as_current=False)
    app.conf.update(
        task_default_queue=settings.queue_name,
        # What a worker started without -Q consumes: every queue, urgent first.
        task_queues={
            name: {"exchange": name, "routing_key": name} for name in worker_queues(settings)
        },
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": VISIBILITY_TIMEOUT_S,
            "queue_order_strategy": "priority",
        },
        worker_hijack_root_logger=False,
    )
    return app


def worker_queues(settings: Settings) -> list[str]:
    """The queues a worker consumes, most urgent first (the order is the priority)."""
    return [
        queue_for(settings, JobPriority.URGENT),
        queue_for(settings, JobPriority.NORMAL),
        bulk_queue(settings),
    ]


def bulk_queue(settings: Settings) -> str:
    """Where long programmes' chunk tasks wait: taken only when nothing else does."""
    return f"{settings.queue_name}.bulk"


def queue_for(settings: Settings, priority: JobPriority) -> str:
    if priority is JobPriority.URGENT:
        return f"{settings.queue_name}.urgent"
    return settings.queue_name


def enqueue_job(
    celery: Celery, settings: Settings, job_id: str, priority: JobPriority = JobPriority.NORMAL
) -> None:
    celery.send_task(TRANSCRIBE_TASK, args=[job_id], queue=queue_for(settings, priority))


def enqueue_delivery(
    celery: Celery, settings: Settings, delivery_id: str, countdown_s: float | None = None
) -> None:
    celery.send_task(
        DELIVER_WEBHOOK_TASK,
        args=[delivery_id],
        queue=queue_for(settings, JobPriority.URGENT),
        countdown=countdown_s,
    )


def enqueue_chunk(celery: Celery, settings: Settings, job_id: str, position: int) -> None:
    celery.send_task(CHUNK_TASK, args=[job_id, position], queue=bulk_queue(settings))


def enqueue_merge(celery: Celery, settings: Settings, job_id: str) -> None:
    celery.send_task(MERGE_TASK, args=[job_id], queue=queue_for(settings, JobPriority.NORMAL))


def enqueue_shots(celery: Celery, settings: Settings, clip_id: str) -> None:
    celery.send_task(SHOTS_TASK, args=[clip_id], queue=bulk_queue(settings))


def enqueue_cut(celery: Celery, settings: Settings, cut_id: str) -> None:
    """A cut (efir.cuts) goes to the normal queue: someone is waiting for it, like a clip."""
    celery.send_task(CUT_TASK, args=[cut_id], queue=queue_for(settings, JobPriority.NORMAL))


def withdraw_job(settings: Settings, job_id: str) -> int:
    """Delete the job's messages still waiting in the broker; returns how many.

    Cheaper and surer than a Celery revoke (which lives in worker memory only): a
    message taken meanwhile meets a job that is no longer queued and does nothing.
    """
    if not settings.redis_url:
        return 0
    client = redis.Redis.from_url(settings.redis_url)
    removed = 0
    try:
        for key in _queue_keys(settings):
            for message in client.lrange(key, 0, -1):
                if _job_id_of(message) == job_id:
                    # redis-py sends bytes as they are; its stubs say str only.
                    removed += int(client.lrem(key, 0, message))  # type: ignore[arg-type]
    finally:
        client.close()
    return removed


class CeleryJobQueue:
    """efir.jobs.lifecycle.JobQueue over Celery and Redis (``celery`` None: no broker)."""

    def __init__(self, celery: Celery | None, settings: Settings) -> None:
        self._celery = celery
        self._settings = settings

    def send(self, job_id: str, priority: JobPriority) -> None:
        if self._celery is None:
            raise RuntimeError("no broker: EFIR_REDIS_URL is not set")
        enqueue_job(self._celery, self._settings, job_id, priority)

    def withdraw(self, job_id: str) -> None:
        withdraw_job(self._settings, job_id)

    def send_cut(self, cut_id: str) -> None:
        if self._celery is None:
            raise RuntimeError("no broker: EFIR_REDIS_URL is not set")
        enqueue_cut(self._celery, self._settings, cut_id)


def live_job_ids(settings: Settings) -> set[str]:
    """Job ids with a message waiting in a queue or held unacknowledged by a worker."""
    return _live_ids(settings, TRANSCRIBE_TASK)


def live_cut_ids(settings: Settings) -> set[str]:
    """Cut ids (efir.cuts) with a message waiting or held by a worker."""
    return _live_ids(settings, CUT_TASK)


def live_shot_clip_ids(settings: Settings) -> set[str]:
    """Clip ids with a shot measurement waiting or held by a worker."""
    return _live_ids(settings, SHOTS_TASK)


def _live_ids(settings: Settings, task: str) -> set[str]:
    if not settings.redis_url:
        return set()
    client = redis.Redis.from_url(settings.redis_url)
    try:
        raw: list[bytes | str] = []
        for key in _queue_keys(settings):
            raw.extend(client.lrange(key, 0, -1))
        raw.extend(client.hvals("unacked"))
    finally:
        client.close()
    found = set()
    for message in raw:
        task_id = _job_id_of(message, task)
        if task_id:
            found.add(task_id)
    return found


def _queue_keys(settings: Settings) -> list[str]:
    """Redis list names of the queues; kombu spreads priorities over name suffixes."""
    return [queue + suffix for queue in worker_queues(settings) for suffix in _PRIORITY_SUFFIXES]


def _job_id_of(raw_message: bytes | str, task: str = TRANSCRIBE_TASK) -> str | None:
    """The id argument of a kombu Redis message of ``task`` (queued, or [message, …]
    when unacked)."""
    try:
        payload = json.loads(raw_message)
        if isinstance(payload, list):
            payload = payload[0]
        if payload.get("headers", {}).get("task") != task:
            return None
        args, _kwargs, _embed = json.loads(base64.b64decode(payload["body"]))
        return str(args[0])
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None


def recover_lost_jobs(
    settings: Settings,
    sessions: sessionmaker[Session],
    celery: Celery,
    *,
    queued_for_s: float = 60.0,
) -> list[str]:
    """Re-send jobs (and webhook deliveries, cuts and shot measurements) the broker has
    lost; returns the job ids."""
    live = live_job_ids(settings)
    with sessions() as session:
        sent = requeue_lost_jobs(
            session,
            lambda job_id, priority: enqueue_job(celery, settings, job_id, priority),
            live_job_ids=live,
            queued_for_s=queued_for_s,
        )
    if sent:
        log.warning("re-enqueued %d job(s) the broker had lost: %s", len(sent), sent)
    with sessions() as session:
        resent = requeue_lost_deliveries(
            session,
            lambda delivery_id: enqueue_delivery(celery, settings, delivery_id),
            due_for_s=queued_for_s,
        )
    if resent:
        log.warning("re-sent %d webhook delivery(ies) the broker had lost", len(resent))
    with sessions() as session:
        cuts = requeue_lost_cuts(
            session,
            lambda cut_id: enqueue_cut(celery, settings, cut_id),
            live_cut_ids=live_cut_ids(settings),
            queued_for_s=queued_for_s,
        )
    if cuts:
        log.warning("re-sent %d cut(s) the broker had lost: %s", len(cuts), cuts)
    with sessions() as session:
        shots = requeue_lost_shots(
            session,
            lambda clip_id: enqueue_shots(celery, settings, clip_id),
            live_clip_ids=live_shot_clip_ids(settings),
        )
    if shots:
        log.warning("re-sent the shot measurement of %d clip(s) the broker had lost", len(shots))
    return sent
