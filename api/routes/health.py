"""Health: ``/health/live`` says the process answers; ``/health`` checks its dependencies."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import SettingsDep
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
    return JSONResponse(report.to_dict(), status_code=200 if report.ok else 503)
