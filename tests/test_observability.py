"""Health, /metrics and structured logs against the real parts: SQLite and Redis up,
Redis or PostgreSQL unreachable (a closed local port), a real worker finishing a job."""

from __future__ import annotations

import json
import logging
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from support.service_support import (
    SEED_DIR,
    SettingsFactory,
    free_port,
    running_api,
    running_worker,
)

from api.main import create_app
from efir.config import Settings
from efir.logs import JsonFormatter

CLIP_S = 8.0
JOB_TIMEOUT_S = 300.0


def test_health_is_ok_when_database_redis_and_storage_answer(
    api_client: tuple[httpx.Client, Settings],
) -> None:
    client, settings = api_client
    response = client.get("/api/v1/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "redis": "ok",
        "storage": "ok",
    }
    assert body["checks"]["storage"]["free_bytes"] > 0
    assert body["checks"]["storage"]["path"] == str(settings.media_dir)
    assert client.get("/api/v1/health/live").json() == {"status": "ok"}


def test_health_names_redis_when_the_broker_port_is_closed(
    make_settings: SettingsFactory, queue_name: str
) -> None:
    settings = make_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", queue_name=queue_name)
    with running_api(settings) as base_url:
        response = httpx.get(f"{base_url}/api/v1/health", timeout=30)
        scrape = httpx.get(f"{base_url}/metrics", timeout=30)
    assert response.status_code == 503, response.text
    # Metrics still answer from the database, and say the broker is down.
    assert scrape.status_code == 200
    assert "efir_broker_up 0.0" in scrape.text.splitlines()
    assert 'efir_jobs{state="queued"} 0.0' in scrape.text.splitlines()
    body = response.json()
    assert body["status"] == "unavailable" and body["failing"] == ["redis"]
    assert "ConnectionError" in body["checks"]["redis"]["error"]
    assert body["checks"]["database"]["status"] == "ok"


def test_health_names_the_database_when_postgresql_is_unreachable(
    make_settings: SettingsFactory, redis_url: str, queue_name: str
) -> None:
    closed = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    settings = make_settings(database_url=closed, redis_url=redis_url, queue_name=queue_name)
    # In-process (no lifespan): a live server would first try to migrate the dead database.
    # At 127.0.0.1: local mode answers no other host name.
    client = TestClient(create_app(settings), base_url="http://127.0.0.1")
    response = client.get("/api/v1/health")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["failing"] == ["database"]
    assert "OperationalError" in body["checks"]["database"]["error"]
    assert body["checks"]["redis"]["status"] == "ok"


def test_request_logs_carry_the_request_id_and_path(
    api_client: tuple[httpx.Client, Settings], caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = api_client
    caplog.handler.setFormatter(JsonFormatter())
    with caplog.at_level(logging.INFO, logger="api.requests"):
        response = client.get("/api/v1/health/live", headers={"X-Request-ID": "desk-42"})
    assert response.headers["X-Request-ID"] == "desk-42"
    lines = [json.loads(line) for line in caplog.text.splitlines() if line.startswith("{")]
    assert any(
        line["request_id"] == "desk-42" and line["path"] == "/api/v1/health/live" for line in lines
    ), caplog.text
    generated = client.get("/api/v1/health/live").headers["X-Request-ID"]
    assert len(generated) == 32 and generated != "desk-42"


@pytest.mark.slow
def test_a_worker_run_shows_in_metrics_and_in_json_logs(
    make_settings: SettingsFactory, redis_url: str, queue_name: str, tmp_path: Path
) -> None:
    settings = make_settings(redis_url=redis_url, queue_name=queue_name, log_format="json")
    clip = tmp_path / "anchor.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-t", str(CLIP_S), "-i", str(SEED_DIR / "seed.wav"), str(clip)],
        check=True,
    )
    worker_log = tmp_path / "worker.log"
    with (
        running_api(settings) as base_url,
        httpx.Client(base_url=base_url, timeout=60) as client,
        running_worker(settings, worker_log),
    ):
        with clip.open("rb") as media:
            upload = client.post("/api/v1/clips", files={"file": (clip.name, media)})
        assert upload.status_code == 202, upload.text
        job_id = upload.json()["id"]
        deadline = time.monotonic() + JOB_TIMEOUT_S
        while (job := client.get(f"/api/v1/jobs/{job_id}").json())["state"] not in (
            "done",
            "failed",
        ):
            assert time.monotonic() < deadline, worker_log.read_text()
            time.sleep(0.3)
        assert job["state"] == "done", job["error"]
        scrape = client.get("/metrics")
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(scrape.text)
        for sample in family.samples
    }
    assert samples[("efir_jobs", (("state", "done"),))] == 1
    assert samples[("efir_jobs", (("state", "queued"),))] == 0
    assert samples[("efir_job_real_time_factor_count", ())] == 1
    rtf = samples[("efir_job_real_time_factor_sum", ())]
    # Base int8 on a shared 2-core box: well under real time alone, a few x when contended.
    assert 0.01 < rtf < 20, rtf
    stage_sums = {
        dict(labels)["stage"]: value
        for (name, labels), value in samples.items()
        if name == "efir_job_stage_duration_seconds_sum"
    }
    # Decoding 8 s of WAV is quick; loading the model and decoding speech is not.
    assert stage_sums["transcribing"] > stage_sums["decoding"] > 0
    total = samples[("efir_job_duration_seconds_sum", ())]
    assert sum(stage_sums.values()) == pytest.approx(total, abs=0.01)
    print(f"\n{CLIP_S:.0f} s clip: RTF {rtf:.2f}, stages {stage_sums}")

    lines = [
        json.loads(line) for line in worker_log.read_text().splitlines() if line.startswith("{")
    ]
    job_lines = [line for line in lines if line.get("job_id") == job_id]
    assert any(line["message"].startswith("job done in") for line in job_lines), lines[-20:]
    assert all(line["level"] and line["time"] for line in job_lines)
