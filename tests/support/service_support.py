"""Helpers shared by the service tests: settings for child processes, a live Celery
worker process, a live uvicorn API, waits for a child's log line or for an API process
to serve, free ports, clips cut from the seed, a WAV whose samples are a script (issue
12), database sessions.

A plain module (not conftest.py) so tests can import it by a name no other conftest
shadows; the fixtures built on it live in tests/conftest.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy import make_url
from sqlalchemy.orm import Session, sessionmaker

from efir.config import Settings
from efir.db import Clip, make_engine, make_session_factory, migrate
from efir.jobs.lifecycle import claim_job, create_job, finish_job
from efir.jobs.queue import worker_queues
from efir.transcripts.model import Segment, Speaker, Transcript
from efir.transcripts.revisions import save_job_output

__all__ = [
    "POSTGRES_ADMIN_URL",
    "REPO_ROOT",
    "SEED_DIR",
    "SESSION_TOKEN",
    "SettingsFactory",
    "cut_seed",
    "cut_seed_audio",
    "free_port",
    "fresh_postgres_database",
    "running_api",
    "running_worker",
    "save_clip_with_transcript",
    "script_wav",
    "session_factory",
    "settings_environment",
    "start_worker",
    "stop_process",
    "wait_for_log",
    "wait_until_serving",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED_DIR = REPO_ROOT / "fixtures" / "seed"
SESSION_TOKEN = uuid.uuid4().hex[:10]
POSTGRES_ADMIN_URL = os.environ.get(
    "EFIR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
WORKER_READY_TIMEOUT_S = 90.0

SettingsFactory = Callable[..., Settings]


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
            "EFIR_LOG_FORMAT": settings.log_format,
            "EFIR_CHUNKED_ABOVE_S": str(settings.chunked_above_s),
            "EFIR_CHUNK_SECONDS": str(settings.chunk_seconds),
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    if settings.redis_url:
        environment["EFIR_REDIS_URL"] = settings.redis_url
    if settings.batch_size:
        environment["EFIR_BATCH_SIZE"] = str(settings.batch_size)
    if settings.model_dir:
        environment["EFIR_MODEL_DIR"] = str(settings.model_dir)
    if settings.secret_key:
        environment["EFIR_SECRET_KEY"] = settings.secret_key
    if settings.webhook_allowed_hosts:
        environment["EFIR_WEBHOOK_ALLOWED_HOSTS"] = settings.webhook_allowed_hosts
        environment["EFIR_WEBHOOK_MAX_ATTEMPTS"] = str(settings.webhook_max_attempts)
        environment["EFIR_WEBHOOK_RETRY_DELAY_S"] = str(settings.webhook_retry_delay_s)
    if settings.public_url:
        environment["EFIR_PUBLIC_URL"] = settings.public_url
    if settings.storage == "s3":
        environment["EFIR_STORAGE"] = "s3"
        environment["EFIR_S3_BUCKET"] = settings.s3_bucket
        environment["EFIR_S3_REGION"] = settings.s3_region
        if settings.s3_endpoint_url:
            environment["EFIR_S3_ENDPOINT_URL"] = settings.s3_endpoint_url
    return environment


def start_worker(
    settings: Settings, log_path: Path, *, pool: str = "prefork"
) -> subprocess.Popen[bytes]:
    """A real Celery worker process (one child under prefork, none under solo) consuming
    the job queues of ``worker_queues``, most urgent first. Not waited for: see
    ``running_worker``, or ``wait_for_log(process, log_path, "ready.")``."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker.celery_app",
        "worker",
        f"--pool={pool}",
        "--loglevel=INFO",
        "--concurrency=1",
        f"--queues={','.join(worker_queues(settings))}",
        f"--hostname=test-{uuid.uuid4().hex[:8]}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command,
            env=settings_environment(settings),
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@contextmanager
def running_worker(settings: Settings, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process (prefork, one child) consuming the job queues."""
    process = start_worker(settings, log_path)
    try:
        wait_for_log(process, log_path, "ready.")
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


def wait_for_log(
    process: subprocess.Popen[bytes],
    log_path: Path,
    marker: str,
    timeout_s: float = WORKER_READY_TIMEOUT_S,
) -> None:
    """Until ``marker`` is in the log (Celery logs "ready." once it consumes); a process
    that exits first (an import error, say) fails at once, with its log's tail."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if marker in log_path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(
        f"{log_path.name} never logged {marker!r}, the process did not start:\n"
        f"{log_path.read_text(errors='replace')[-4000:]}"
    )


def wait_until_serving(
    base_url: str, process: subprocess.Popen[bytes], log_path: Path, timeout_s: float
) -> None:
    """Until the API in ``process`` answers GET /api/v1/jobs with 200; a process that
    exits first, or no 200 in ``timeout_s``, fails with the log's tail."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"the API exited at start ({process.returncode}):\n"
                f"{log_path.read_text(errors='replace')[-4000:]}"
            )
        try:
            if httpx.get(f"{base_url}/api/v1/jobs", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(
        f"the API did not serve in {timeout_s:.0f} s:\n"
        f"{log_path.read_text(errors='replace')[-4000:]}"
    )


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


def cut_seed(out: Path, *, start_s: float, duration_s: float, audio: bool = True) -> Path:
    command = [
        "ffmpeg", "-v", "error", "-y", "-ss", str(start_s), "-t", str(duration_s),
        "-i", str(SEED_DIR / "seed.mp4"), "-c:v", "libx264", "-preset", "ultrafast",
    ]  # fmt: skip
    command += ["-c:a", "aac"] if audio else ["-an"]
    subprocess.run([*command, str(out)], check=True)
    return out


# Plays as 3 s of 16 kHz PCM; read as HTML, it makes its reader an admin account.
_SCRIPT = (
    b"<script>fetch('/api/v1/users',{method:'POST',headers:{'Content-Type':"
    b"'application/json'},body:JSON.stringify({username:'intruder',password:"
    b"'intruder-password-1',role:'admin'})}).then(()=>{document.title='pwned'})</script>"
)


def script_wav(path: Path) -> Path:
    """A real WAV whose sample bytes are a script (spaces after it are samples too)."""
    samples = _SCRIPT + b" " * (3 * 16000 * 2 - len(_SCRIPT))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(samples)
    return path


def cut_seed_audio(out: Path, *, start_s: float, duration_s: float) -> Path:
    """A cut of the seed's sound alone, as 16 kHz mono WAV: cheaper to transcribe than the
    video (no caption OCR) and, cut at different places, distinct content."""
    command = [
        "ffmpeg", "-v", "error", "-y", "-ss", str(start_s), "-t", str(duration_s),
        "-i", str(SEED_DIR / "seed.wav"), "-c:a", "pcm_s16le", "-ar", "16000", "-ac", "1",
    ]  # fmt: skip
    subprocess.run([*command, str(out)], check=True)
    return out


def session_factory(url: str) -> sessionmaker[Session]:
    """A session factory on ``url`` (migrated), for tests that look into the database."""
    migrate(url)
    return make_session_factory(make_engine(url))


def save_clip_with_transcript(url: str, text: str, *, clip_id: str | None = None) -> str:
    """A clip (no media) whose job a worker finished with ``text`` as one segment;
    returns the clip's id."""
    sessions = session_factory(url)
    with sessions() as session:
        clip = Clip(
            id=clip_id or uuid.uuid4().hex,
            sha256="c" * 64,
            original_filename="сюжет.mp4",
            media_key="cc/" + "c" * 64,
            size_bytes=1,
        )
        session.add(clip)
        session.flush()
        job = create_job(session, clip_id=clip.id)
        claim_job(session, job.id)
        transcript = Transcript(
            duration=3.0,
            language="ru",
            model="test",
            speakers=(Speaker("S0"),),
            segments=(Segment(0, 0.0, 3.0, text, "S0"),),
        )
        save_job_output(session, clip_id=clip.id, job_id=job.id, transcript=transcript)
        finish_job(session, job.id)
        saved: str = clip.id
    sessions.kw["bind"].dispose()
    return saved


@contextmanager
def fresh_postgres_database(name: str) -> Iterator[str]:
    """A new database ``name`` made from the admin URL's server, dropped afterwards."""
    admin = make_url(POSTGRES_ADMIN_URL)
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is needed for this test: {error}")
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
