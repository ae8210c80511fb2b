"""Health: ``/health/live`` says the process answers; ``/health`` checks its dependencies.

Open to anonymous callers (load balancers, monitoring). In production they get the
status alone; paths, free space and dependency errors are for a signed-in caller."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from api.auth import SESSION_COOKIE, authenticate
from api.deps import SettingsDep
from efir.config import Settings
from efir.health import (
    HealthCheck,
    check_database,
    check_redis,
    check_storage,
    run_health_checks,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/health", tags=["health"])


@router.get("/live")
def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("", responses={503: {"description": "a dependency is down; named in `failing`"}})
async def health(request: Request, settings: SettingsDep) -> JSONResponse:
    sessions = request.app.state.sessions
    checks: dict[str, HealthCheck] = {
        "database": lambda: check_database(sessions),
        "redis": lambda: check_redis(settings.redis_url),
        "storage": lambda: check_storage(settings.media_dir),
    }
    if settings.storage == "s3":
        # Media is in the bucket; this disk only stages uploads on their way there.
        storage = request.app.state.storage
        checks["storage"] = lambda: check_storage(storage.staging_dir)
        checks["bucket"] = storage.check_bucket
    report = await run_health_checks(checks)
    body = report.to_dict()
    if settings.environment == "production" and not await _authenticated(request, settings):
        body = {"status": body["status"]}
    return JSONResponse(body, status_code=200 if report.ok else 503)


async def _authenticated(request: Request, settings: Settings) -> bool:
    if "authorization" not in request.headers and SESSION_COOKIE not in request.cookies:
        return False

    def check() -> bool:
        with request.app.state.sessions() as session:
            authenticate(request, session, settings)
        return True

    try:
        return await asyncio.to_thread(check)
    except (HTTPException, SQLAlchemyError):  # bad credentials, or the database is down
        return False
