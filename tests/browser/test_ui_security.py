"""Issue 12 in Chromium: an uploaded file that reads as a page cannot act as the signed-in
admin who opens it (finding 1), and the login page sends a user on to efir's own pages
only (finding 4)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from playwright.sync_api import Page, expect
from support.auth_support import PASSWORD, add_user, bearer, production
from support.service_support import running_api, script_wav

from efir.accounts.users import AccountRole
from efir.config import Settings
from efir.jobs.queue import worker_queues

pytestmark = pytest.mark.browser
# Long enough for a script on the page to have made its request.
SCRIPT_GRACE_MS = 2000


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """A production API with an admin; a WAV named report.html uploaded by the admin,
    its samples a script that creates an admin account. (base URL, clip id, token)"""
    data_dir = tmp_path_factory.mktemp("efir-security")
    settings = production(
        Settings(
            data_dir=data_dir,
            database_url=None,
            redis_url=os.environ.get("EFIR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
            queue_name=f"efir-security-{uuid.uuid4().hex[:8]}",
        )
    )
    token = add_user(settings, "chief", AccountRole.ADMIN)[1]
    media = script_wav(data_dir / "report.html").read_bytes()
    try:
        with running_api(settings) as base_url:
            uploaded = httpx.post(
                f"{base_url}/api/v1/clips",
                files={"file": ("report.html", media, "text/html")},
                headers=bearer(token),
                timeout=60,
            )
            assert uploaded.status_code == 202, uploaded.text
            yield base_url, uploaded.json()["clip_id"], token
    finally:
        assert settings.redis_url is not None
        redis.Redis.from_url(settings.redis_url).delete(*worker_queues(settings))


def _sign_in(page: Page, base_url: str, next_path: str) -> None:
    page.goto(f"{base_url}/login?next={next_path}")
    page.fill("#login-username", "chief")
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")


def _usernames(base_url: str, token: str) -> list[str]:
    users = httpx.get(f"{base_url}/api/v1/users", headers=bearer(token), timeout=30)
    return [user["username"] for user in users.json()]


def test_a_signed_in_admin_bounced_to_uploaded_media_runs_no_script(
    service: tuple[str, str, str], page: Page, artifacts_dir: Path
) -> None:
    base_url, clip_id, token = service
    media_path = f"/api/v1/clips/{clip_id}/media"
    # Signing in with the media as next, then, signed in, the login page bounce again.
    _sign_in(page, base_url, media_path)
    expect(page).to_have_url(f"{base_url}/")
    expect(page.locator("#account-name")).to_contain_text("chief")
    page.goto(f"{base_url}/login?next={media_path}")
    expect(page).to_have_url(f"{base_url}/")
    # Opened directly, it is audio in a sandbox: no script, no cookie, no API.
    opened = page.goto(f"{base_url}{media_path}")
    assert opened is not None and opened.headers["content-type"] == "audio/wav"
    page.wait_for_timeout(SCRIPT_GRACE_MS)
    page.screenshot(path=artifacts_dir / "security-media-opened.png")
    assert page.title() != "pwned"
    assert "intruder" not in _usernames(base_url, token)


def test_a_page_with_an_inline_script_runs_none_of_it(
    service: tuple[str, str, str], page: Page
) -> None:
    """The pages' policy itself: an inline script that got into a page would not run."""
    base_url, _, _ = service
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(f"{base_url}/login")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "document.title = 'pwned'";
            document.body.append(script);
        }"""
    )
    page.wait_for_timeout(500)
    assert page.title() != "pwned"
    assert any("Content Security Policy" in message for message in messages), messages


@pytest.mark.parametrize(
    ("next_path", "landing"),
    [
        ("%2F%09%2Fevil.example/x", "/"),  # "/\t/evil.example": the tab is dropped
        ("//evil.example/x", "/"),
        ("/%5Cevil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/api/v1/users", "/"),
        ("/static/js/login.js", "/"),
        ("/search", "/search"),
        ("/clips/abc%3Ft%3D12.5", "/clips/abc?t=12.5"),
    ],
)
def test_after_login_the_browser_goes_to_efir_pages_only(
    service: tuple[str, str, str], page: Page, next_path: str, landing: str
) -> None:
    base_url, _, _ = service
    _sign_in(page, base_url, next_path)
    expect(page.locator("#account-name")).to_contain_text("chief")
    assert page.url == f"{base_url}{landing}"
