"""Webhook delivery in the worker: the task is thin, the logic is efir.webhooks.delivery.deliver.

A job's end records its webhook delivery in the database (efir.jobs.lifecycle); the hook below sends
it once the task that ended the job returns, whichever task that was (a whole clip, a long
programme's merge, a failing chunk). A delivery that is never sent — the worker died, the
broker was down — is re-sent by the recovery sweep (efir.jobs.queue.recover_lost_jobs).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from celery.signals import task_postrun

from efir.jobs.queue import DELIVER_WEBHOOK_TASK, enqueue_delivery
from efir.webhooks.delivery import deliver, new_delivery_ids
from worker.celery_app import app, sessions, settings

__all__ = ["deliver_webhook", "send_job_webhooks"]

log = logging.getLogger(__name__)


@app.task(name=DELIVER_WEBHOOK_TASK)  # type: ignore[untyped-decorator]
def deliver_webhook(delivery_id: str) -> None:
    with sessions()() as session:
        next_attempt_in_s = deliver(session, delivery_id, settings=settings)
    if next_attempt_in_s is not None:
        enqueue_delivery(app, settings, delivery_id, next_attempt_in_s)


@task_postrun.connect  # type: ignore[untyped-decorator]
def send_job_webhooks(task: Task, args: tuple[Any, ...] | None = None, **_: Any) -> None:
    """After a job's task (its first argument is the job id), send the deliveries its end
    recorded. Best effort: what is not sent now, the recovery sweep sends."""
    if task.name == DELIVER_WEBHOOK_TASK or not args or not isinstance(args[0], str):
        return
    try:
        with sessions()() as session:
            for delivery_id in new_delivery_ids(session, job_id=args[0]):
                enqueue_delivery(app, settings, delivery_id)
    except Exception:
        log.exception("could not send the webhooks of job %s; the recovery sweep will", args[0])
