"""The Celery queue as both sides see it: the API sends job ids, workers consume them.

Only job ids travel through Redis; the job's state lives in the database. So when
Redis restarts and forgets its messages, ``recover_lost_jobs`` (run when the API or a
worker starts, and every minute by the API) finds the queued jobs with no message
left in the broker and sends them again.
"""

from __future__ import annotations

import base64
import json
import logging

import redis
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from efir.config import Settings
from efir.jobs import requeue_lost_jobs

__all__ = ["TRANSCRIBE_TASK", "enqueue_job", "live_job_ids", "make_celery", "recover_lost_jobs"]

TRANSCRIBE_TASK = "efir.transcribe_clip"
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
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S},
        worker_hijack_root_logger=False,
    )
    return app


def enqueue_job(celery: Celery, settings: Settings, job_id: str) -> None:
    celery.send_task(TRANSCRIBE_TASK, args=[job_id], queue=settings.queue_name)


def live_job_ids(settings: Settings) -> set[str]:
    """Job ids with a message waiting in the queue or held unacknowledged by a worker."""
    if not settings.redis_url:
        return set()
    client = redis.Redis.from_url(settings.redis_url)
    try:
        raw: list[bytes | str] = []
        for suffix in _PRIORITY_SUFFIXES:
            raw.extend(client.lrange(settings.queue_name + suffix, 0, -1))
        raw.extend(client.hvals("unacked"))
    finally:
        client.close()
    found = set()
    for message in raw:
        job_id = _job_id_of(message)
        if job_id:
            found.add(job_id)
    return found


def _job_id_of(raw_message: bytes | str) -> str | None:
    """The job id argument of a kombu Redis message (queued, or [message, …] when unacked)."""
    try:
        payload = json.loads(raw_message)
        if isinstance(payload, list):
            payload = payload[0]
        if payload.get("headers", {}).get("task") != TRANSCRIBE_TASK:
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
    """Re-send jobs the broker has lost; returns their ids."""
    live = live_job_ids(settings)
    with sessions() as session:
        sent = requeue_lost_jobs(
            session,
            lambda job_id: enqueue_job(celery, settings, job_id),
            live_job_ids=live,
            queued_for_s=queued_for_s,
        )
    if sent:
        log.warning("re-enqueued %d job(s) the broker had lost: %s", len(sent), sent)
    return sent
