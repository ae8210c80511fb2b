"""What every page shares, in Chromium against the live service: the language switch
and the pages that must stay calm when a part of the API is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_english_is_one_click_away_and_remembered(
    live_service: str, page: Page, artifacts_dir: Path
) -> None:
    page.goto(f"{live_service}/search")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.locator("h1")).to_have_text("Поиск по архиву")
    page.click("button[data-lang=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Search the archive")
    expect(page.locator("label[for=search-speaker]")).to_have_text("Speaker")
    expect(page.locator("button[data-lang=en]")).to_have_attribute("aria-pressed", "true")
    page.goto(f"{live_service}/")
    expect(page.locator("nav a[aria-current=page]")).to_have_text("Upload & queue")
    page.screenshot(path=artifacts_dir / "shell-english.png")
    page.click("button[data-lang=ru]")
    expect(page.locator("nav a[aria-current=page]")).to_have_text("Загрузка и очередь")


def test_speakers_page_shows_the_registry_or_says_it_is_unavailable(
    live_service: str, page: Page, artifacts_dir: Path
) -> None:
    voices = page.request.get(f"{live_service}/api/v1/voices")
    page.goto(f"{live_service}/speakers")
    if voices.status == 404:
        expect(page.locator("#speakers-empty")).to_have_text(
            "Реестр спикеров на этом сервере пока недоступен."
        )
        expect(page.locator("#speakers-table")).to_be_hidden()
    else:
        assert voices.ok
        payload = voices.json()
        listed = payload if isinstance(payload, list) else payload.get("data", [])
        if listed:
            expect(page.locator("#speakers-body tr")).to_have_count(len(listed))
        else:
            expect(page.locator("#speakers-empty")).to_have_text("В реестре пока нет голосов.")
    page.screenshot(path=artifacts_dir / "speakers.png")


def test_dropping_several_files_lists_each_with_its_own_progress_bar(
    live_service: str, page: Page, artifacts_dir: Path
) -> None:
    page.goto(f"{live_service}/")
    dropped = page.evaluate_handle(
        """() => {
            const transfer = new DataTransfer();
            transfer.items.add(new File(["a"], "утро.mp4", { type: "video/mp4" }));
            transfer.items.add(new File(["b"], "вечер.mp3", { type: "audio/mpeg" }));
            return transfer;
        }"""
    )
    page.dispatch_event("#dropzone", "dragenter", {"dataTransfer": dropped})
    expect(page.locator("#dropzone")).to_have_class("dropzone is-over")
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": dropped})
    items = page.locator("#pending-files .file-item")
    expect(items).to_have_count(2)
    expect(items.locator("progress")).to_have_count(2)
    expect(page.locator("#upload-submit")).to_have_text("Загрузить файлы (2)")
    page.screenshot(path=artifacts_dir / "upload-dropped.png")
    items.filter(has_text="утро.mp4").get_by_role("button").click()
    expect(items).to_have_count(1)
    expect(page.locator("#upload-submit")).to_have_text("Загрузить")
