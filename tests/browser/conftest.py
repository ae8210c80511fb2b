"""Fixtures for the browser tests: the real service (uvicorn + a Celery worker on real
Redis) on a free localhost port, Debian's Chromium driven by Playwright, a 25 s cut of
the seed broadcast, and that cut uploaded once through the UI for the editor flows.

Never ``playwright install``: the browser is /usr/bin/chromium.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from playwright.sync_api import Browser, Page, sync_playwright
from support.browser_support import (
    ARTIFACTS_DIR,
    CHROMIUM,
    CHROMIUM_ARGS,
    CUT_SECONDS,
    REPO_ROOT,
    SEED_DIR,
    UploadedClip,
    upload_through_ui,
)
from support.service_support import (
    free_port,
    settings_environment,
    start_worker,
    stop_process,
    wait_for_log,
    wait_until_serving,
)

from efir.config import Settings
from efir.db import migrate
from efir.jobs.queue import worker_queues

SERVICE_START_TIMEOUT_S = 90


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture(scope="session")
def live_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The settings the live service runs with (its database, for setting up state)."""
    return Settings(
        data_dir=tmp_path_factory.mktemp("efir-browser-data"),
        database_url=None,
        redis_url=os.environ.get("EFIR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
        # Queues of our own: other test runs on the same Redis must not take our jobs.
        queue_name=f"efir-browser-{uuid.uuid4().hex[:8]}",
        cpu_threads=1,
    )


@pytest.fixture(scope="session")
def live_service(live_settings: Settings) -> Iterator[str]:
    """Base URL of the API serving the UI, with one worker consuming its private queues."""
    settings = live_settings
    data_dir, redis_url = settings.data_dir, settings.redis_url
    migrate(settings.sqlalchemy_url)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    api_log = data_dir / "api.log"
    worker_log = data_dir / "worker.log"
    with api_log.open("wb") as api_out:
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
            env=settings_environment(settings),
            stdout=api_out,
            stderr=subprocess.STDOUT,
        )
    # Started together: the worker loads while the API does.
    worker = start_worker(settings, worker_log, pool="solo")
    try:
        wait_until_serving(base_url, api, api_log, SERVICE_START_TIMEOUT_S)
        wait_for_log(worker, worker_log, "ready.", SERVICE_START_TIMEOUT_S)
        yield base_url
    finally:
        stop_process(worker, timeout_s=20)
        stop_process(api, timeout_s=20)
        redis.Redis.from_url(redis_url).delete(*worker_queues(settings))
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
