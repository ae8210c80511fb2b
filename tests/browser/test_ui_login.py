"""Signing in, in Chromium: a production-mode API sends the browser to the login page,
a wrong password says so, the right one opens the upload page with the user in the
header; signing out returns to the login page. Local mode shows its banner instead."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from auth_support import PASSWORD, add_user, production
from playwright.sync_api import Page, expect
from service_support import running_api

from efir.accounts import Role
from efir.config import Settings

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def production_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = production(
        Settings(data_dir=tmp_path_factory.mktemp("efir-login"), database_url=None)
    )
    add_user(settings, "chief", Role.ADMIN)
    add_user(settings, "марина", Role.EDITOR)
    with running_api(settings) as base_url:
        yield base_url


def test_login_page_lets_a_user_in_and_out(
    production_service: str, page: Page, artifacts_dir: Path
) -> None:
    page.goto(f"{production_service}/search")
    expect(page).to_have_url(f"{production_service}/login?next=/search")
    expect(page.locator("h1")).to_have_text("Вход в Эфир")
    expect(page.locator("#local-banner")).to_be_hidden()
    page.fill("#login-username", "марина")
    page.fill("#login-password", "не тот пароль")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("Неверное имя пользователя или пароль.")
    page.screenshot(path=artifacts_dir / "login-wrong-password.png")
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page).to_have_url(f"{production_service}/search")
    page.click("nav a[data-nav=upload]")
    expect(page.locator("h1")).to_have_text("Загрузка и очередь")
    expect(page.locator("#upload-form")).to_be_visible()
    expect(page.locator("#account-name")).to_have_text("марина · редактор")
    page.screenshot(path=artifacts_dir / "login-signed-in.png")
    page.click("#logout")
    expect(page).to_have_url(f"{production_service}/login")
    page.goto(f"{production_service}/")
    expect(page).to_have_url(f"{production_service}/login?next=/")


def test_local_mode_shows_its_banner_and_no_login(live_service: str, page: Page) -> None:
    page.goto(f"{live_service}/")
    expect(page.locator("#local-banner")).to_have_text(
        "Локальный режим: без входа, только этот компьютер"
    )
    expect(page.locator("#account")).to_be_hidden()
    expect(page.locator("nav a[data-nav=search]")).to_be_visible()
