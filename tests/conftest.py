"""Shared fixtures: temp data dirs, SQLite and PostgreSQL databases, real Redis queues,
a live Celery worker process and a live uvicorn API.

Real services are expected on 127.0.0.1 (as in CI): Redis :6379 and PostgreSQL :5432
with trust auth. EFIR_TEST_REDIS_URL / EFIR_TEST_POSTGRES_URL point elsewhere. Every
test session gets its own PostgreSQL database and its own Celery queue name, so
parallel runs on one machine do not see each other's jobs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
import redis
import uvicorn
from sqlalchemy import make_url
from sqlalchemy.orm import Session, sessionmaker

from efir.config import Settings
from efir.db import make_engine, make_session_factory, migrate

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED_DIR = REPO_ROOT / "fixtures" / "seed"
REDIS_URL = os.environ.get("EFIR_TEST_REDIS_URL", "redis://127.0.0.1:6379")
POSTGRES_ADMIN_URL = os.environ.get(
    "EFIR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SESSION_TOKEN = uuid.uuid4().hex[:10]
# One Redis logical database per session, on top of a unique queue name.
REDIS_DB = int(SESSION_TOKEN, 16) % 15 + 1
WORKER_READY_TIMEOUT_S = 90.0

SettingsFactory = Callable[..., Settings]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    admin = make_url(POSTGRES_ADMIN_URL)
    name = f"efir_test_{SESSION_TOKEN}"
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is needed for this test: {error}")
    yield admin.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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


def settings_environment(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process load the same settings."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("EFIR_")}
    environment.update(
        {
            "EFIR_DATA_DIR": str(settings.data_dir),
            "EFIR_DATABASE_URL": settings.sqlalchemy_url,
            "EFIR_QUEUE_NAME": settings.queue_name,
            "EFIR_CACHE_DIR": str(settings.cache_dir),
            "EFIR_CPU_THREADS": str(settings.cpu_threads),
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    if settings.redis_url:
        environment["EFIR_REDIS_URL"] = settings.redis_url
    if settings.model_dir:
        environment["EFIR_MODEL_DIR"] = str(settings.model_dir)
    return environment


@contextmanager
def running_worker(settings: Settings, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process (prefork, one child) consuming ``settings.queue_name``."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker.celery_app",
        "worker",
        "--loglevel=INFO",
        "--concurrency=1",
        f"--queues={settings.queue_name}",
        f"--hostname=test-{uuid.uuid4().hex[:8]}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=settings_environment(settings),
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_log(process, log_path, "ready.")
        yield process
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_log(process: subprocess.Popen[bytes], log_path: Path, marker: str) -> None:
    deadline = time.monotonic() + WORKER_READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if marker in log_path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"worker did not start:\n{log_path.read_text(errors='replace')[-4000:]}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_api(settings: Settings, **app_options: float) -> Iterator[str]:
    """The real app under uvicorn in a thread; yields its base URL."""
    from api.main import create_app

    migrate(settings.sqlalchemy_url)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, **app_options),
            host="127.0.0.1",
            port=free_port(),
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def api_client(
    make_settings: SettingsFactory, redis_url: str, queue_name: str
) -> Iterator[tuple[httpx.Client, Settings]]:
    """An HTTP client on a live API (SQLite, real Redis queue, no worker)."""
    settings = make_settings(redis_url=redis_url, queue_name=queue_name)
    with running_api(settings) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        yield client, settings


@pytest.fixture
def seed_cut(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 25 s cut of the seed broadcast (video + audio): the clip the fast e2e tests use."""
    return cut_seed(tmp_path_factory.mktemp("media") / "seed-cut.mp4", start_s=0, duration_s=25)


def cut_seed(out: Path, *, start_s: float, duration_s: float, audio: bool = True) -> Path:
    command = [
        "ffmpeg", "-v", "error", "-y", "-ss", str(start_s), "-t", str(duration_s),
        "-i", str(SEED_DIR / "seed.mp4"), "-c:v", "libx264", "-preset", "ultrafast",
    ]  # fmt: skip
    command += ["-c:a", "aac"] if audio else ["-an"]
    subprocess.run([*command, str(out)], check=True)
    return out


def session_factory(url: str) -> sessionmaker[Session]:
    """A session factory on ``url`` (migrated), for tests that look into the database."""
    migrate(url)
    return make_session_factory(make_engine(url))
