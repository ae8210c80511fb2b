"""PostgreSQL stopped under a live API: every route answers 503 with Retry-After (not 500,
no hang), an upload during the outage leaves nothing behind, and the same API process
serves again once the server is back. A private cluster is stopped, never the shared one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from support.postgres_support import PrivatePostgres, private_postgres
from support.service_support import (
    SEED_DIR,
    SettingsFactory,
    cut_seed,
    running_api,
    save_clip_with_transcript,
    session_factory,
)

from api.main import create_app
from efir.config import Settings
from efir.db import Clip, Job, migrate

# A refused connection fails at once; this bounds anything that would wait on a timeout.
OUTAGE_ANSWER_S = 5.0
UNAVAILABLE = "The database is unavailable."


@pytest.fixture
def outage_api(
    make_settings: SettingsFactory, redis_url: str, queue_name: str
) -> Iterator[tuple[httpx.Client, Settings, PrivatePostgres]]:
    with private_postgres() as postgres:
        settings = make_settings(
            database_url=postgres.url, redis_url=redis_url, queue_name=queue_name
        )
        with (
            running_api(settings) as base_url,
            httpx.Client(base_url=base_url, timeout=30) as client,
        ):
            yield client, settings, postgres


def _stored_files(settings: Settings) -> list[Path]:
    return sorted(path for path in settings.media_dir.rglob("*") if path.is_file())


def _upload(client: httpx.Client, path: Path) -> httpx.Response:
    return client.post("/api/v1/clips", files={"file": (path.name, path.read_bytes())})


def test_routes_answer_503_while_postgresql_is_down_and_recover_without_a_restart(
    outage_api: tuple[httpx.Client, Settings, PrivatePostgres], tmp_path: Path
) -> None:
    client, settings, postgres = outage_api
    clip_id = save_clip_with_transcript(settings.sqlalchemy_url, "Доброе утро, Костанай.")
    reads = [
        "/api/v1/clips",
        f"/api/v1/clips/{clip_id}",
        f"/api/v1/transcripts/{clip_id}",
        f"/api/v1/transcripts/{clip_id}/export?format=srt",
        "/api/v1/search?q=Костанай",
        "/api/v1/jobs",
    ]
    for path in reads:
        assert client.get(path).status_code == 200, path
    assert client.get("/api/v1/search?q=Костанай").json()["hit_count"] == 1
    before = _upload(client, SEED_DIR / "seed.wav")
    assert before.status_code == 202, before.text
    files_before = _stored_files(settings)
    during = cut_seed(tmp_path / "во время сбоя.mp4", start_s=5, duration_s=3)

    postgres.stop()
    for path in reads:
        started = time.monotonic()
        response = client.get(path)
        assert time.monotonic() - started < OUTAGE_ANSWER_S, path
        assert response.status_code == 503, (path, response.text)
        assert response.headers["Retry-After"].isdigit()
        assert UNAVAILABLE in response.json()["detail"]
        assert "База данных недоступна" in response.json()["detail"]
    refused = _upload(client, during)
    assert refused.status_code == 503, refused.text
    assert UNAVAILABLE in refused.json()["detail"]
    assert _stored_files(settings) == files_before  # no staged part, no orphan media

    postgres.start()
    for path in reads:
        assert client.get(path).status_code == 200, path
    after = _upload(client, during)
    assert after.status_code == 202, after.text
    assert len(_stored_files(settings)) == len(files_before) + 1
    sessions = session_factory(settings.sqlalchemy_url)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Clip)) == 3
        assert session.scalar(select(func.count()).select_from(Job)) == 3
    sessions.kw["bind"].dispose()


def test_a_resumable_upload_finished_during_the_outage_is_kept_for_a_retry(
    outage_api: tuple[httpx.Client, Settings, PrivatePostgres], tmp_path: Path
) -> None:
    client, settings, postgres = outage_api
    media = cut_seed(tmp_path / "сюжет.mp4", start_s=20, duration_s=3).read_bytes()
    half = len(media) // 2
    postgres.stop()
    # Receiving chunks needs no database: only the chunk that completes the file does.
    started = client.post("/api/v1/uploads", json={"filename": "сюжет.mp4", "size": len(media)})
    assert started.status_code == 201, started.text
    upload_id = started.json()["id"]

    def send(start: int) -> httpx.Response:
        return client.patch(
            f"/api/v1/uploads/{upload_id}",
            content=media[start:] if start else media[:half],
            headers={
                "Content-Range": f"bytes {start}-{(len(media) if start else half) - 1}/{len(media)}"
            },
        )

    assert send(0).status_code == 200
    refused = send(half)
    assert refused.status_code == 503, refused.text
    assert UNAVAILABLE in refused.json()["detail"]
    assert client.head(f"/api/v1/uploads/{upload_id}").headers["Upload-Offset"] == str(half)
    assert _stored_files(settings) == []

    postgres.start()
    finished = send(half)
    assert finished.status_code == 200, finished.text
    assert finished.json()["complete"] and finished.json()["job"]["state"] == "queued"
    assert len(_stored_files(settings)) == 1


def test_a_request_that_finds_every_pooled_connection_busy_gets_503(
    make_settings: SettingsFactory, postgres_url: str
) -> None:
    """Overload: the pool's connections are all held (here by the test) for longer than
    the pool waits; the request gives up with a 503 the client may retry, not a 500."""
    settings = make_settings(database_url=postgres_url)
    migrate(postgres_url)
    app = create_app(settings)
    engine: Engine = app.state.sessions.kw["bind"]
    capacity = engine.pool.size() + engine.pool._max_overflow  # type: ignore[attr-defined]
    held = [engine.connect() for _ in range(capacity)]
    try:
        # In-process without the lifespan, so the lost-job sweep takes no connection; at
        # 127.0.0.1, as local mode answers no other host name.
        started = time.monotonic()
        response = TestClient(app, base_url="http://127.0.0.1").get("/api/v1/clips")
        waited_s = time.monotonic() - started
    finally:
        for connection in held:
            connection.close()
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"].isdigit()
    assert "The server is overloaded." in response.json()["detail"]
    assert waited_s < engine.pool.timeout() + OUTAGE_ANSWER_S
    assert TestClient(app, base_url="http://127.0.0.1").get("/api/v1/clips").status_code == 200
