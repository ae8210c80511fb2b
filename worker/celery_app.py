"""The Celery application workers run: ``celery -A worker.celery_app worker``.

Configured from efir settings (EFIR_REDIS_URL, EFIR_QUEUE_NAME); the policy that
matters for long jobs — late acks, requeue when a worker child dies, one job
prefetched at a time — lives in ``efir.jobs.queue.make_celery``.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from celery.signals import setup_logging, worker_ready
from sqlalchemy.orm import Session, sessionmaker

from efir.config import get_settings
from efir.db import make_engine, make_session_factory
from efir.jobs.queue import make_celery, recover_lost_jobs
from efir.logs import configure_logging

__all__ = ["app", "sessions", "settings"]

settings = get_settings()
app = make_celery(settings)
app.conf.include = ["worker.tasks", "worker.webhooks"]

log = logging.getLogger(__name__)


@cache
def sessions() -> sessionmaker[Session]:
    """The database sessions of this worker child: one engine and pool, made on first use
    (after the fork; the prefork parent must not hand pooled connections to children)."""
    return make_session_factory(make_engine(settings.sqlalchemy_url))


@setup_logging.connect  # type: ignore[untyped-decorator]
def _configure_logging(**_: Any) -> None:
    # Connected, this replaces Celery's own set-up: one format (EFIR_LOG_FORMAT) for all.
    configure_logging(settings.log_format)


@worker_ready.connect  # type: ignore[untyped-decorator]
def _recover_lost_jobs(**_: Any) -> None:
    # A throwaway engine: the prefork parent must not hand pooled connections to children.
    engine = make_engine(settings.sqlalchemy_url)
    try:
        recover_lost_jobs(settings, make_session_factory(engine), app)
    except Exception:  # recovery is best effort; the API sweeps again every minute
        log.exception("could not re-enqueue lost jobs at worker start")
    finally:
        engine.dispose()
