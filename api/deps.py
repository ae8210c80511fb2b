"""Request dependencies: signatures read as prose (``session: SessionDep``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from efir.config import Settings
from efir.jobs import JobQueue
from efir.storage import MediaStorage

__all__ = ["JobQueueDep", "SessionDep", "SettingsDep", "StorageDep"]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def _storage(request: Request) -> MediaStorage:
    storage: MediaStorage = request.app.state.storage
    return storage


def _job_queue(request: Request) -> JobQueue:
    queue: JobQueue = request.app.state.job_queue
    return queue


SettingsDep = Annotated[Settings, Depends(_settings)]
SessionDep = Annotated[Session, Depends(_session)]
StorageDep = Annotated[MediaStorage, Depends(_storage)]
# Sends job ids to the workers; its calls raise when the broker is unreachable.
JobQueueDep = Annotated[JobQueue, Depends(_job_queue)]
