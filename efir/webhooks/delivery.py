"""Webhooks for newsroom systems: a clip's callback URL hears when its job is done or failed.

    upload (callback_url) or PUT …/webhook → webhook_subscriptions row, URL checked
    the job ends (efir.jobs.lifecycle)   → a webhook_deliveries row, committed with the job's state
    worker efir.deliver_webhook(delivery id) → claim → signed POST → attempt logged;
        a network error, 5xx or 429 schedules the next attempt after a backoff
    recovery sweep (efir.jobs.queue) → re-sends deliveries that are due but were never taken

The delivery row is written before any message is sent, in the job's own transaction, so
an event survives a broker that loses its data. A delivery's id is the event's
``delivery_id`` and its X-Efir-Delivery header, the same on every attempt (receivers drop
a repeat by it); a job run again is a new event with a new id.

Which URLs may be called, and how that is checked: efir/webhooks/urls.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import httpx
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from efir.config import Settings
from efir.db import Job, JobState, WebhookDelivery, WebhookSubscription, utcnow
from efir.media.clips import get_clip
from efir.webhooks.urls import (
    CallbackUnresolvedError,
    CallbackUrlError,
    Resolver,
    admit_callback_url,
    resolve_host,
)

__all__ = [
    "JOB_DONE",
    "JOB_FAILED",
    "DeliveryState",
    "callback_url_for",
    "deliver",
    "event_body",
    "new_delivery_ids",
    "record_job_event",
    "requeue_lost_deliveries",
    "retry_delay_s",
    "sign",
    "signing_secret",
    "subscribe",
    "unsubscribe",
    "webhook_log",
]

JOB_DONE = "job.done"
JOB_FAILED = "job.failed"
_EVENTS = {JobState.DONE: JOB_DONE, JobState.FAILED: JOB_FAILED}
CONNECT_TIMEOUT_S = 5.0
# Per read; the response is read only up to RESPONSE_EXCERPT_BYTES, within this in all.
RESPONSE_TIMEOUT_S = 10.0
RESPONSE_EXCERPT_BYTES = 500
# A claim this old belongs to a worker that died mid-attempt (an attempt takes < 30 s).
STALE_CLAIM_S = 300.0
# Retry waits as multiples of EFIR_WEBHOOK_RETRY_DELAY_S: 10 s, 30 s, 2 min, 10 min, 1 h,
# then hourly. Quick at first for a receiver restarting, then patient for an outage.
_BACKOFF_STEPS = (1, 3, 12, 60, 360)
# Deterministic delivery ids: the same job run ending twice cannot make two events.
_DELIVERY_NAMESPACE = uuid.UUID("5d1b7a0e-2f47-4c1a-9c55-0e8f0a7e6b21")


class DeliveryState(StrEnum):
    PENDING = "pending"  # next_attempt_at says when
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up: a 4xx, a refused URL, or max attempts


def signing_secret(secret_key: str, token_id: int | None) -> str:
    """The webhook secret of an API token (None: the local, token-less principal), hex."""
    purpose = f"webhook:{'local' if token_id is None else token_id}"
    return hmac.new(secret_key.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """X-Efir-Signature: HMAC-SHA256 of ``<timestamp>.<body>`` keyed with the hex secret."""
    message = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def retry_delay_s(attempt: int, base_s: float) -> float:
    """How long to wait after failed attempt number ``attempt`` (from 1) before the next."""
    return base_s * _BACKOFF_STEPS[min(max(attempt, 1), len(_BACKOFF_STEPS)) - 1]


def callback_url_for(raw: str, settings: Settings, *, resolve: Resolver = resolve_host) -> str:
    """The callback URL to keep for a clip (an upload's ``callback_url``, PUT …/webhook),
    checked now; raises CallbackUrlError (HTTP 400) with a message for the user."""
    target = admit_callback_url(raw, settings.webhook_allowed_hosts, resolve=resolve)
    if not settings.secret_key:
        raise CallbackUrlError(
            "Вебхуки требуют EFIR_SECRET_KEY: без него события нечем подписать. "
            "Webhooks need EFIR_SECRET_KEY to sign their events."
        )
    return str(target.url)


def subscribe(
    session: Session, *, clip_id: str, url: str, token_id: int | None
) -> WebhookSubscription:
    """Set (or replace) the clip's callback URL, already checked; the caller commits."""
    get_clip(session, clip_id)
    subscription = session.get(WebhookSubscription, clip_id)
    if subscription is None:
        subscription = WebhookSubscription(clip_id=clip_id)
        session.add(subscription)
    subscription.url = url
    subscription.token_id = token_id
    subscription.created_at = utcnow()
    session.flush()
    return subscription


def unsubscribe(session: Session, clip_id: str) -> None:
    """Forget the clip's callback URL (deliveries already recorded still go); the caller
    commits."""
    get_clip(session, clip_id)
    subscription = session.get(WebhookSubscription, clip_id)
    if subscription is not None:
        session.delete(subscription)


def record_job_event(session: Session, job: Job) -> WebhookDelivery | None:
    """Add the delivery for a job that has just ended done or failed, if its clip has a
    callback. No commit: the caller's transaction carries it with the job's new state."""
    event = _EVENTS.get(job.state)
    subscription = session.get(WebhookSubscription, job.clip_id) if event else None
    if event is None or subscription is None:
        return None
    delivery_id = uuid.uuid5(_DELIVERY_NAMESPACE, f"{job.id}:{job.attempts}:{event}").hex
    if session.get(WebhookDelivery, delivery_id) is not None:
        return None
    occurred_at = job.finished_at or utcnow()
    delivery = WebhookDelivery(
        id=delivery_id,
        clip_id=job.clip_id,
        job_id=job.id,
        event=event,
        url=subscription.url,
        token_id=subscription.token_id,
        reason=job.error,
        occurred_at=occurred_at,
        state=DeliveryState.PENDING,
        attempt=0,
        attempts_log=[],
        next_attempt_at=occurred_at,
    )
    session.add(delivery)
    return delivery


def new_delivery_ids(session: Session, *, job_id: str) -> list[str]:
    """The job's deliveries not attempted yet: the ones its end just recorded."""
    query = select(WebhookDelivery.id).where(
        WebhookDelivery.job_id == job_id,
        WebhookDelivery.state == DeliveryState.PENDING,
        WebhookDelivery.attempt == 0,
    )
    return list(session.scalars(query))


def event_body(delivery: WebhookDelivery, *, public_url: str) -> bytes:
    """The JSON POSTed for a delivery: the same bytes on every attempt."""
    done = delivery.event == JOB_DONE
    event = {
        "event": delivery.event,
        "job_id": delivery.job_id,
        "clip_id": delivery.clip_id,
        "state": JobState.DONE.value if done else JobState.FAILED.value,
        "error": delivery.reason,
        "transcript_url": (
            f"{public_url.rstrip('/')}/api/v1/transcripts/{delivery.clip_id}" if done else None
        ),
        "occurred_at": delivery.occurred_at.isoformat(),
        "delivery_id": delivery.id,
    }
    return json.dumps(event, ensure_ascii=False).encode("utf-8")


def deliver(
    session: Session, delivery_id: str, *, settings: Settings, resolve: Resolver = resolve_host
) -> float | None:
    """Make the delivery's next attempt if it is due and nobody else is making it; log it.

    Returns the seconds until the attempt after this one when one was scheduled (the
    caller sends the task again with that countdown), else None.
    """
    started = utcnow()
    if not _claim(session, delivery_id, started):
        return None
    delivery = session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if delivery is None:
        return None  # its clip was deleted just now
    outcome = _attempt(delivery, settings, resolve)
    finished = utcnow()
    delivery.attempt += 1
    delivery.status_code = outcome.status_code
    delivery.error = outcome.error
    delivery.claimed_at = None
    delivery.attempts_log = [
        *delivery.attempts_log,
        {
            "attempt": delivery.attempt,
            "started_at": started.isoformat(),
            "finished_at": finished.isoformat(),
            "status_code": outcome.status_code,
            "error": outcome.error,
            "response_excerpt": outcome.response_excerpt,
        },
    ]
    delay_s: float | None = None
    if outcome.error is None:
        delivery.state = DeliveryState.DELIVERED
        delivery.delivered_at = finished
        delivery.next_attempt_at = None
    elif outcome.retry and delivery.attempt < settings.webhook_max_attempts:
        delay_s = retry_delay_s(delivery.attempt, settings.webhook_retry_delay_s)
        delivery.next_attempt_at = finished + timedelta(seconds=delay_s)
    else:
        delivery.state = DeliveryState.FAILED
        delivery.next_attempt_at = None
    session.commit()
    return delay_s


def requeue_lost_deliveries(
    session: Session, send: Callable[[str], None], *, due_for_s: float = 60.0
) -> list[str]:
    """Send again the pending deliveries overdue by ``due_for_s`` that nobody is making
    (their message was lost, or their worker died mid-attempt); returns their ids."""
    now = utcnow()
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.state == DeliveryState.PENDING,
            WebhookDelivery.claimed_at < now - timedelta(seconds=STALE_CLAIM_S),
        )
        .values(claimed_at=None)
    )
    session.commit()
    lost = list(
        session.scalars(
            select(WebhookDelivery.id).where(
                WebhookDelivery.state == DeliveryState.PENDING,
                WebhookDelivery.claimed_at.is_(None),
                WebhookDelivery.next_attempt_at < now - timedelta(seconds=due_for_s),
            )
        )
    )
    for delivery_id in lost:
        send(delivery_id)
    return lost


def webhook_log(
    session: Session, clip_id: str, *, limit: int = 100
) -> tuple[WebhookSubscription | None, Sequence[WebhookDelivery]]:
    """The clip's callback and its deliveries, newest first."""
    get_clip(session, clip_id)
    deliveries = session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.clip_id == clip_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .limit(limit)
    ).all()
    return session.get(WebhookSubscription, clip_id), deliveries


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    error: str | None  # None: delivered
    response_excerpt: str | None
    retry: bool


def _claim(session: Session, delivery_id: str, now: datetime) -> bool:
    # Due within a second: a countdown measured on another host's clock may run early.
    claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.state == DeliveryState.PENDING,
            WebhookDelivery.claimed_at.is_(None),
            WebhookDelivery.next_attempt_at <= now + timedelta(seconds=1),
        )
        .values(claimed_at=now)
    )
    session.commit()
    return claimed.rowcount == 1


def _attempt(delivery: WebhookDelivery, settings: Settings, resolve: Resolver) -> _Outcome:
    if not settings.secret_key:
        return _Outcome(None, "EFIR_SECRET_KEY is not set: nothing to sign with", None, False)
    try:
        target = admit_callback_url(delivery.url, settings.webhook_allowed_hosts, resolve=resolve)
    except CallbackUnresolvedError as error:
        return _Outcome(None, str(error), None, retry=True)
    except CallbackUrlError as error:
        return _Outcome(None, f"refused: {error}", None, retry=False)
    body = event_body(delivery, public_url=settings.public_url or _local_url(settings))
    timestamp = int(time.time())
    secret = signing_secret(settings.secret_key, delivery.token_id)
    headers = {
        "Host": target.url.netloc.decode("ascii"),
        "Content-Type": "application/json",
        "Accept-Encoding": "identity",
        "User-Agent": "efir-webhooks",
        "X-Efir-Delivery": delivery.id,
        "X-Efir-Timestamp": str(timestamp),
        "X-Efir-Signature": sign(secret, timestamp, body),
    }
    timeout = httpx.Timeout(RESPONSE_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
    # trust_env off: a proxy from the environment would connect to the name, not the
    # address checked. The certificate is still checked against the name (SNI).
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        try:
            request = client.build_request(
                "POST",
                target.url.copy_with(host=target.address),
                content=body,
                headers=headers,
                extensions={"sni_hostname": target.url.raw_host.decode("ascii")},
            )
            response = client.send(request, stream=True)
            try:
                excerpt = _read_excerpt(response)
            finally:
                response.close()
        except httpx.InvalidURL as error:  # e.g. a scoped link-local address the host named
            return _Outcome(None, f"refused: {target.address}: {error}", None, retry=False)
        except httpx.HTTPError as error:
            return _Outcome(None, f"{type(error).__name__}: {error}", None, retry=True)
    code = response.status_code
    if 200 <= code < 300:
        return _Outcome(code, None, excerpt, retry=False)
    redirect = " (redirects are not followed)" if 300 <= code < 400 else ""
    return _Outcome(code, f"HTTP {code}{redirect}", excerpt, retry=code >= 500 or code == 429)


def _read_excerpt(response: httpx.Response) -> str:
    """The response's first bytes, read within RESPONSE_TIMEOUT_S however slow it drips."""
    deadline = time.monotonic() + RESPONSE_TIMEOUT_S
    received = bytearray()
    for chunk in response.iter_raw():
        received += chunk
        if len(received) >= RESPONSE_EXCERPT_BYTES or time.monotonic() > deadline:
            break
    return received[:RESPONSE_EXCERPT_BYTES].decode("utf-8", errors="replace")


def _local_url(settings: Settings) -> str:
    return f"http://{settings.host}:{settings.port}"
