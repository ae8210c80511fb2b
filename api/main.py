"""The FastAPI application: ``create_app(settings)`` wires database, storage, queue, routes.

Run with ``efir serve`` (API + worker + embedded Redis) or, behind another process
manager, ``uvicorn --factory api.main:create_app``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.awaited import JobNotDoneError
from api.body_limit import BodyLimitMiddleware
from api.multipart import InvalidUploadError
from api.openapi import document_error_bodies
from api.rate_limits import RateLimits
from api.request_log import RequestLogMiddleware
from api.routes import (
    accounts,
    asr_compat,
    clips,
    cuts,
    exports,
    health,
    jobs,
    metrics,
    openai_compat,
    programmes,
    resumable,
    search,
    selections,
    session,
    transcripts,
    ui,
    voices,
    webhooks,
)
from api.security_headers import LocalOnlyMiddleware, SecurityHeadersMiddleware
from efir.accounts.users import AccountConflictError
from efir.config import Settings, get_settings
from efir.db import make_engine, make_session_factory
from efir.errors import (
    EfirError,
    InvalidCutError,
    InvalidEditError,
    InvalidExportError,
    MediaError,
    MediaTooLargeError,
    NotFoundError,
    StorageFullError,
)
from efir.jobs.lifecycle import InvalidTransitionError
from efir.jobs.queue import CeleryJobQueue, make_celery, recover_lost_jobs
from efir.media.clips import DuplicateClipError
from efir.media.library import expire_media
from efir.media.staging import UploadOffsetError, UploadRangeError
from efir.media.storage import make_storage
from efir.media.storage.base import MediaStorage, StorageUnavailableError
from efir.startup_checks import refuse_unsafe_serving
from efir.transcripts.revisions import RevisionConflictError

__all__ = ["create_app"]

log = logging.getLogger(__name__)

# Most specific first: the first matching class decides the status.
_ERROR_STATUS: tuple[tuple[type[EfirError], int], ...] = (
    (NotFoundError, 404),
    (MediaTooLargeError, 413),
    (MediaError, 422),
    (InvalidEditError, 422),
    (InvalidExportError, 422),
    (InvalidCutError, 422),
    (JobNotDoneError, 422),
    (InvalidUploadError, 400),
    (RevisionConflictError, 409),
    (DuplicateClipError, 409),
    (InvalidTransitionError, 409),
    (AccountConflictError, 409),
    (UploadOffsetError, 409),
    (UploadRangeError, 416),
    (StorageFullError, 507),
    (EfirError, 400),
)


def create_app(settings: Settings | None = None, *, recovery_interval_s: float = 60.0) -> FastAPI:
    """The API. Every ``recovery_interval_s`` it re-sends jobs the broker has lost.
    Refuses (ServeRefusedError) local mode off loopback and an unprepared production."""
    settings = settings or get_settings()
    engine = make_engine(settings.sqlalchemy_url)
    sessions = make_session_factory(engine)
    try:
        refuse_unsafe_serving(sessions=sessions, settings=settings)
    except Exception:
        engine.dispose()
        raise
    celery = make_celery(settings) if settings.redis_url else None

    async def sweep() -> None:
        while celery is not None or settings.media_retention_days:
            try:
                if celery is not None:
                    await run_in_threadpool(recover_lost_jobs, settings, sessions, celery)
                if settings.media_retention_days:
                    await run_in_threadpool(
                        _expire_media, settings.media_retention_days, sessions, app.state.storage
                    )
            except Exception:  # the broker or database may be down; try again next round
                log.exception("the minute sweep (lost jobs, media retention) failed")
            await asyncio.sleep(recovery_interval_s)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(sweep())
        try:
            yield
        finally:
            sweeper.cancel()
            engine.dispose()

    app = FastAPI(
        title="efir",
        summary="Russian speech-to-text for TV newsrooms",
        version="0.1.0",
        lifespan=lifespan,
    )
    document_error_bodies(app)
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.storage = make_storage(settings)
    app.state.job_queue = CeleryJobQueue(celery, settings)
    app.state.rate_limits = RateLimits(
        requests_per_minute=settings.rate_limit_per_minute,
        uploads_per_minute=settings.upload_rate_limit_per_minute,
        logins_per_address_per_minute=settings.login_attempts_per_address_per_minute,
        logins_per_user_per_minute=settings.login_attempts_per_user_per_minute,
    )
    app.state.password_hashes = asyncio.Semaphore(settings.login_concurrent_hashes)

    app.add_exception_handler(EfirError, _efir_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(
        OperationalError,
        _unavailable("База данных недоступна; повторите позже. The database is unavailable."),
    )
    # Every pooled connection stayed busy for the pool's timeout: overload, not a bug.
    app.add_exception_handler(
        PoolTimeoutError,
        _unavailable("Сервер перегружен; повторите позже. The server is overloaded."),
    )
    app.add_exception_handler(
        StorageUnavailableError,
        _unavailable("Хранилище медиа недоступно; повторите позже. Media storage is unavailable."),
    )
    for router in (clips.router, jobs.router, search.router, transcripts.router, ui.router):
        app.include_router(router)
    app.include_router(voices.router)
    app.include_router(resumable.router)
    app.include_router(exports.router)
    app.include_router(cuts.router)
    app.include_router(selections.router)
    app.include_router(programmes.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(session.router)
    app.include_router(accounts.users_router)
    app.include_router(accounts.tokens_router)
    app.include_router(webhooks.router)
    app.include_router(openai_compat.router)
    app.include_router(asr_compat.router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_body_bytes)
    if settings.environment == "local":
        app.add_middleware(LocalOnlyMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestLogMiddleware)
    return app


def _expire_media(days: int, sessions: sessionmaker[Session], storage: MediaStorage) -> None:
    with sessions() as session:
        expired = expire_media(session, storage, older_than_days=days)
    if expired:
        log.info("retention removed the media of %d clip(s): %s", len(expired), expired)


def _error(
    request: Request,
    status: int,
    detail: str,
    headers: Mapping[str, str] | None = None,
    *,
    param: str | None = None,
    code: str | None = None,
    extra: Mapping[str, object] | None = None,
) -> JSONResponse:
    """The error body: ``{"detail", **extra}``, or OpenAI's ``{"error"}`` on its routes,
    since its SDKs read the message from there."""
    if request.url.path.startswith(_OPENAI_PREFIX):
        body = openai_compat.openai_error(status, detail, param=param, code=code)
        return JSONResponse(body, status_code=status, headers=headers)
    return JSONResponse({"detail": detail, **(extra or {})}, status_code=status, headers=headers)


_OPENAI_PREFIX = "/v1/"


def _efir_error(request: Request, error: EfirError) -> JSONResponse:
    """``detail`` (both languages, as before), a stable ``code`` and ``message`` per
    language, so a client shows one language."""
    status = next(code for kind, code in _ERROR_STATUS if isinstance(error, kind))
    if isinstance(error, openai_compat.OpenAIRequestError):
        return _error(request, status, str(error), param=error.param, code=error.openai_code)
    extra = {"code": error.error_code, "message": error.messages, **error.context}
    return _error(request, status, str(error), extra=extra)


async def _http_error(request: Request, error: HTTPException) -> Response:
    if request.url.path.startswith(_OPENAI_PREFIX) and isinstance(error.detail, str):
        return _error(request, error.status_code, error.detail, headers=error.headers)
    return await http_exception_handler(request, error)


async def _validation_error(request: Request, error: RequestValidationError) -> Response:
    if request.url.path.startswith(_OPENAI_PREFIX):
        return _error(request, 422, str(error.errors()))
    return await request_validation_exception_handler(request, error)


def _unavailable(detail: str) -> Callable[[Request, Exception], JSONResponse]:
    """A 503 handler for a dependency that is down: the client may retry shortly."""

    def handler(request: Request, error: Exception) -> JSONResponse:
        log.error("%s: %s", detail, error)
        return _error(request, 503, detail, headers={"Retry-After": "5"})

    return handler
