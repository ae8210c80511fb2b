"""Shared fixtures: temp data dirs, SQLite and PostgreSQL databases, real Redis queues,
a live API. Helpers (live worker process, uvicorn, seed cuts) are in service_support.py.

Real services are expected on 127.0.0.1 (as in CI): Redis :6379 and PostgreSQL :5432
with trust auth. EFIR_TEST_REDIS_URL / EFIR_TEST_POSTGRES_URL point elsewhere. Every
test session gets its own PostgreSQL database and its own Celery queue names, so
parallel runs on one machine do not see each other's jobs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from support.s3_support import S3_TEST_CREDENTIALS, running_s3_server
from support.service_support import (
    SESSION_TOKEN,
    SettingsFactory,
    fresh_postgres_database,
    running_api,
)

from efir.config import Settings

REDIS_URL = os.environ.get("EFIR_TEST_REDIS_URL", "redis://127.0.0.1:6379")
# One Redis logical database per session, on top of unique queue names.
REDIS_DB = int(SESSION_TOKEN, 16) % 15 + 1


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    with fresh_postgres_database(f"efir_test_{SESSION_TOKEN}") as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'efir.sqlite3'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs twice: on SQLite and on the session's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'efir.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = f"{REDIS_URL}/{REDIS_DB}"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError as error:
        pytest.fail(f"Redis at {REDIS_URL} is needed for this test: {error}")
    return url


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local S3 endpoint (moto's server mode) for this test session."""
    with running_s3_server(tmp_path_factory.mktemp("moto") / "moto.log") as url:
        yield url


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the local S3 endpoint; AWS_* credentials set for boto3 (and
    for worker processes, which inherit them)."""
    import boto3

    for name, value in S3_TEST_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    bucket = f"efir-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    return bucket


@pytest.fixture
def queue_name(request: pytest.FixtureRequest, redis_url: str) -> Iterator[str]:
    """A queue of this test alone; its leftovers are deleted afterwards."""
    name = f"efir-test-{SESSION_TOKEN}-{uuid.uuid4().hex[:6]}"
    yield name
    redis.Redis.from_url(redis_url).delete(name)


@pytest.fixture
def make_settings(tmp_path: Path, sqlite_url: str) -> SettingsFactory:
    """Settings on a temp data dir (SQLite inside it unless ``database_url`` is given)."""

    def factory(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "data_dir": tmp_path / "data",
            "database_url": sqlite_url,
            "cpu_threads": 1,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return factory


@pytest.fixture
def api_client(
    make_settings: SettingsFactory, redis_url: str, queue_name: str
) -> Iterator[tuple[httpx.Client, Settings]]:
    """An HTTP client on a live API (SQLite, real Redis queue, no worker)."""
    settings = make_settings(redis_url=redis_url, queue_name=queue_name)
    with running_api(settings) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        yield client, settings
