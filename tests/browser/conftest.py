"""Fixtures for the browser tests: the real service (uvicorn + a Celery worker on real
Redis) on a free localhost port, Debian's Chromium driven by Playwright, a 25 s cut of
the seed broadcast, and that cut uploaded once through the UI for the editor flows.

Never ``playwright install``: the browser is /usr/bin/chromium.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from browser_support import (
    ARTIFACTS_DIR,
    CHROMIUM,
    CHROMIUM_ARGS,
    CUT_SECONDS,
    REPO_ROOT,
    SEED_DIR,
    UploadedClip,
    upload_through_ui,
)
from playwright.sync_api import Browser, Page, sync_playwright

from efir.config import Settings
from efir.db import migrate
from efir.queue import worker_queues

SERVICE_START_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_serving(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVICE_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited at start:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base_url}/api/v1/jobs", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the API did not start in {SERVICE_START_TIMEOUT_S} s")


def _wait_until_consuming(process: subprocess.Popen[bytes], log: Path) -> None:
    """Celery logs "ready." once it consumes; an import error ends the process instead."""
    deadline = time.monotonic() + SERVICE_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if "ready." in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.3)
    raise RuntimeError(f"the worker did not start:\n{log.read_text(errors='replace')[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture(scope="session")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of the API serving the UI, with one worker consuming its private queue."""
    data_dir = tmp_path_factory.mktemp("efir-browser-data")
    env = {
        **os.environ,
        "EFIR_DATA_DIR": str(data_dir),
        "EFIR_REDIS_URL": os.environ.get("EFIR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
        # A queue of our own: other test runs on the same Redis must not take our jobs.
        "EFIR_QUEUE_NAME": f"efir-browser-{uuid.uuid4().hex[:8]}",
        "EFIR_CPU_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }
    env.pop("EFIR_DATABASE_URL", None)
    migrate(f"sqlite:///{data_dir / 'efir.sqlite3'}")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    api_log = data_dir / "api.log"
    worker_log = data_dir / "worker.log"
    with api_log.open("wb") as api_out, worker_log.open("wb") as worker_out:
        api = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "api.main:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=api_out,
            stderr=subprocess.STDOUT,
        )
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "worker.celery_app",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
                "-Q",
                ",".join(worker_queues(Settings(queue_name=env["EFIR_QUEUE_NAME"]))),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=worker_out,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_serving(base_url, api, api_log)
            _wait_until_consuming(worker, worker_log)
            yield base_url
        finally:
            _stop(worker)
            _stop(api)
            redis.Redis.from_url(env["EFIR_REDIS_URL"]).delete(
                env["EFIR_QUEUE_NAME"], f"{env['EFIR_QUEUE_NAME']}.urgent"
            )
    # Keep the service logs next to the screenshots: they explain a failed flow.
    for log in (api_log, worker_log):
        shutil.copy(log, ARTIFACTS_DIR / log.name)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        locale="ru-RU", timezone_id="Asia/Almaty", viewport={"width": 1360, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def browser_clip_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The start of the seed broadcast (see CUT_SECONDS)."""
    cut = tmp_path_factory.mktemp("clips") / "forum-cut.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(SEED_DIR / "seed.mp4"),
            "-t",
            str(CUT_SECONDS),
            "-c",
            "copy",
            str(cut),
        ],
        check=True,
    )
    return cut


@pytest.fixture(scope="session")
def uploaded_clip(
    browser: Browser, live_service: str, browser_clip_media: Path, artifacts_dir: Path
) -> UploadedClip:
    """The seed cut, uploaded once through the UI and processed by the real worker."""
    context = browser.new_context(locale="ru-RU", viewport={"width": 1360, "height": 900})
    try:
        clip = upload_through_ui(
            context.new_page(),
            live_service,
            browser_clip_media,
            title="Гражданский форум в Костанае",
            artifacts=artifacts_dir,
        )
    finally:
        context.close()
    if clip.final_state != "done":
        pytest.fail(f"the seed cut ended {clip.final_state}: {clip.error} (see worker.log)")
    return clip
