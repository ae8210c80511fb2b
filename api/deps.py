"""Request dependencies: signatures read as prose (``session: SessionDep``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from efir.config import Settings
from efir.storage import MediaStorage

__all__ = ["EnqueueDep", "SessionDep", "SettingsDep", "StorageDep"]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def _storage(request: Request) -> MediaStorage:
    storage: MediaStorage = request.app.state.storage
    return storage


def _enqueue(request: Request) -> Callable[[str], None]:
    enqueue: Callable[[str], None] = request.app.state.enqueue
    return enqueue


SettingsDep = Annotated[Settings, Depends(_settings)]
SessionDep = Annotated[Session, Depends(_session)]
StorageDep = Annotated[MediaStorage, Depends(_storage)]
# Sends a job id to the workers; raises when the broker is unreachable.
EnqueueDep = Annotated[Callable[[str], None], Depends(_enqueue)]
