"""``GET /metrics``: Prometheus text format, computed from the database and broker per scrape."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest

from api.auth import require
from api.deps import SettingsDep
from efir.accounts.users import Permission
from efir.metrics import JobMetricsCollector

__all__ = ["router"]

router = APIRouter(tags=["health"])


# Admins only: job counts and queue depth say what the newsroom is working on. A
# Prometheus scraper gets an admin token (bearer_token_file in its scrape config).
@router.get("/metrics", response_class=Response, dependencies=[require(Permission.METRICS)])
def metrics(request: Request, settings: SettingsDep) -> Response:
    # A registry per scrape: the collector holds no state between scrapes anyway.
    registry = CollectorRegistry()
    registry.register(JobMetricsCollector(settings, request.app.state.sessions))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_PLAIN_0_0_4)
