"""Request dependencies: signatures read as prose (``session: SessionDep``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from efir.config import Settings
from efir.cuts.jobs import CutQueue
from efir.jobs.lifecycle import JobQueue
from efir.media.storage.base import MediaStorage

__all__ = ["CutQueueDep", "JobQueueDep", "SessionDep", "SettingsDep", "StorageDep"]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def _storage(request: Request) -> MediaStorage:
    storage: MediaStorage = request.app.state.storage
    return storage


def _cut_queue(request: Request) -> CutQueue:
    queue: CutQueue = request.app.state.job_queue
    return queue


def _job_queue(request: Request) -> JobQueue:
    queue: JobQueue = request.app.state.job_queue
    return queue


SettingsDep = Annotated[Settings, Depends(_settings)]
# At most this many requests hold a session at once; the rest wait in the event loop,
# holding no thread. FastAPI serializes a sync route's response in a threadpool thread
# while the session still holds its pooled connection: with more sessions than pooled
# connections, every thread can end up waiting for a connection that a request waiting
# for a thread holds, and the API stalls until the pool's 30 s timeouts break it. Kept
# below the engine's pool (SQLAlchemy's 5 + 10 overflow, make_engine's default) so the
# lost-job sweep, uploads and /health always find a connection too.
SESSIONS_AT_ONCE = 10
# "function" scope: the session closes before the response is sent, not after.
SessionDep = Annotated[
    Session, Depends(_session, scope="function", max_concurrency=SESSIONS_AT_ONCE)
]
StorageDep = Annotated[MediaStorage, Depends(_storage)]
# Sends job ids to the workers; its calls raise when the broker is unreachable.
JobQueueDep = Annotated[JobQueue, Depends(_job_queue)]
# Sends cut ids to the workers (the same broker as the jobs).
CutQueueDep = Annotated[CutQueue, Depends(_cut_queue)]
