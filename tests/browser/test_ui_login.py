"""Signing in, in Chromium: a production-mode API sends the browser to the login page,
a wrong password says so, the right one opens the upload page with the user in the
header; signing out returns to the login page. Local mode shows its banner instead."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from playwright.sync_api import Page, expect
from support.auth_support import PASSWORD, add_user, production
from support.service_support import running_api

from efir.accounts.users import AccountRole
from efir.config import Settings
from efir.jobs.queue import worker_queues

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def production_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A production-mode API with an admin, an editor and an archivist; jobs wait in a
    private Redis queue (no worker: these tests stop at the queue)."""
    settings = production(
        Settings(
            data_dir=tmp_path_factory.mktemp("efir-login"),
            database_url=None,
            redis_url=os.environ.get("EFIR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
            queue_name=f"efir-login-{uuid.uuid4().hex[:8]}",
        )
    )
    add_user(settings, "chief", AccountRole.ADMIN)
    add_user(settings, "марина", AccountRole.EDITOR)
    add_user(settings, "архив", AccountRole.ARCHIVIST)
    try:
        with running_api(settings) as base_url:
            yield base_url
    finally:
        assert settings.redis_url is not None
        redis.Redis.from_url(settings.redis_url).delete(*worker_queues(settings))


def _sign_in(page: Page, username: str, password: str) -> None:
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-form button[type=submit]")


def test_login_page_lets_a_user_in_upload_and_out(
    production_service: str, page: Page, artifacts_dir: Path, browser_clip_media: Path
) -> None:
    page.goto(f"{production_service}/search")
    expect(page).to_have_url(f"{production_service}/login?next=/search")
    expect(page.locator("h1")).to_have_text("Вход в Эфир")
    expect(page.locator("#local-banner")).to_be_hidden()
    _sign_in(page, "марина", "не тот пароль")
    expect(page.locator("#login-error")).to_have_text("Неверное имя пользователя или пароль.")
    page.screenshot(path=artifacts_dir / "login-wrong-password.png")
    _sign_in(page, "марина", PASSWORD)
    expect(page).to_have_url(f"{production_service}/search")
    page.click("nav a[data-nav=upload]")
    expect(page.locator("h1")).to_have_text("Загрузка и очередь")
    expect(page.locator("#upload-form")).to_be_visible()
    expect(page.locator("#account-name")).to_have_text("марина · редактор")
    page.screenshot(path=artifacts_dir / "login-signed-in.png")
    # The page's own uploads carry the cookie and pass the same-origin check.
    page.set_input_files("#file-input", str(browser_clip_media))
    page.fill("#meta-title", "Вход и загрузка")
    page.click("#upload-submit")
    expect(page.locator("#job-list .job").filter(has_text="Вход и загрузка")).to_be_visible()
    clips = page.request.get(f"{production_service}/api/v1/clips").json()
    me = page.request.get(f"{production_service}/api/v1/users")
    assert me.status == 403  # an editor does not manage accounts
    assert [clip["title"] for clip in clips] == ["Вход и загрузка"]
    assert clips[0]["uploaded_by_user_id"] is not None
    page.click("#logout")
    expect(page).to_have_url(f"{production_service}/login")
    page.goto(f"{production_service}/")
    expect(page).to_have_url(f"{production_service}/login?next=/")


def test_an_archivist_sees_no_upload_form(production_service: str, page: Page) -> None:
    page.goto(f"{production_service}/login")
    _sign_in(page, "архив", PASSWORD)
    expect(page.locator("#account-name")).to_have_text("архив · архивист")
    expect(page.locator("h1")).to_have_text("Загрузка и очередь")
    expect(page.locator("#upload-form")).to_be_hidden()
    expect(page.locator("nav a[data-nav=search]")).to_be_visible()


def test_local_mode_shows_its_banner_and_no_login(live_service: str, page: Page) -> None:
    page.goto(f"{live_service}/")
    expect(page.locator("#local-banner")).to_have_text(
        "Локальный режим: без входа, только этот компьютер"
    )
    expect(page.locator("#account")).to_be_hidden()
    expect(page.locator("nav a[data-nav=search]")).to_be_visible()
