"""How a worker's errors end what it works on, a transcription job or a cut."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from efir.errors import EfirError

__all__ = ["ended_by_errors"]

log = logging.getLogger(__name__)


@contextmanager
def ended_by_errors(
    session: Session,
    fail: Callable[[str], object],
    *,
    transient: tuple[type[BaseException], ...],
    stopped: tuple[type[BaseException], ...] = (),
) -> Iterator[None]:
    """Roll back on any error, then: `transient` ones propagate (the task retries);
    `stopped` ones end quietly (a job cancelled mid-run keeps its state); efir's own
    errors `fail` it with their message (retrying cannot fix the input); anything else
    fails it as an internal error and propagates."""
    try:
        yield
    except transient:
        session.rollback()
        raise
    except stopped as error:
        session.rollback()
        log.info("stopped, nothing written: %s", error)
    except EfirError as error:
        session.rollback()
        fail(str(error))
        log.warning("failed: %s", error)
    except Exception as error:
        session.rollback()
        fail(f"Внутренняя ошибка: {type(error).__name__}: {error}")
        raise
