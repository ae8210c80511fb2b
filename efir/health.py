"""Readiness checks: is the database answering, the broker reachable, the media writable?

Each check is a plain blocking function that returns what it measured or raises.
``run_health_checks`` runs them side by side in threads, each under a deadline, so a
hung dependency makes the report say so instead of hanging the caller.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import redis
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "CHECK_TIMEOUT_S",
    "HealthReport",
    "check_database",
    "check_redis",
    "check_storage",
    "run_health_checks",
]

CHECK_TIMEOUT_S = 3.0

HealthCheck = Callable[[], dict[str, object]]


@dataclass(frozen=True)
class HealthReport:
    checks: dict[str, dict[str, object]]

    @property
    def ok(self) -> bool:
        return all(check["status"] == "ok" for check in self.checks.values())

    @property
    def failing(self) -> list[str]:
        return [name for name, check in self.checks.items() if check["status"] != "ok"]

    def to_dict(self) -> dict[str, object]:
        summary: dict[str, object] = {"status": "ok" if self.ok else "unavailable"}
        if not self.ok:
            summary["failing"] = self.failing
        return {**summary, "checks": self.checks}


def check_database(sessions: sessionmaker[Session]) -> dict[str, object]:
    with sessions() as session:
        session.execute(text("SELECT 1"))
    return {}


def check_redis(url: str | None, *, timeout_s: float = CHECK_TIMEOUT_S) -> dict[str, object]:
    if not url:
        raise RuntimeError("EFIR_REDIS_URL is not set: no broker to send jobs to")
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
    try:
        client.ping()
    finally:
        client.close()
    return {}


def check_storage(media_dir: Path) -> dict[str, object]:
    """The media directory accepts a file (created if missing, as the first upload would)."""
    media_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=media_dir, prefix=".health-") as probe:
        probe.write(b"ok")
        probe.flush()
    return {"path": str(media_dir), "free_bytes": shutil.disk_usage(media_dir).free}


async def run_health_checks(
    checks: Mapping[str, HealthCheck], *, timeout_s: float = CHECK_TIMEOUT_S
) -> HealthReport:
    results = await asyncio.gather(
        *(_run_check(check, timeout_s=timeout_s) for check in checks.values())
    )
    return HealthReport(dict(zip(checks, results, strict=True)))


async def _run_check(check: HealthCheck, *, timeout_s: float) -> dict[str, object]:
    started = time.perf_counter()
    try:
        # A hung check's thread is left to finish on its own; the report does not wait.
        details = await asyncio.wait_for(asyncio.to_thread(check), timeout=timeout_s)
    except TimeoutError:
        return {"status": "error", "error": f"no answer within {timeout_s:g} s"}
    except Exception as error:  # any failure of a dependency is what the report is for
        return {"status": "error", "error": f"{type(error).__name__}: {error}"}
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    return {"status": "ok", "latency_ms": latency_ms, **details}
