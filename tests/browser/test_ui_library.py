"""The library page («Архив») in headless Chromium against the real API and worker, on a
laptop and on a phone: it lists, filters, edits and deletes clips (the deleted one is gone
from search too), focus stays on the work, and no page is wider than the screen."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest
from playwright.sync_api import Browser, Page, expect
from support.browser_support import UploadedClip
from support.service_support import SEED_DIR

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = {"laptop": (1400, 900), "phone": (390, 844)}


def _page(browser: Browser, size: str) -> Page:
    width, height = SIZES[size]
    context = browser.new_context(
        locale="en-US", timezone_id="Asia/Almaty", viewport={"width": width, "height": height}
    )
    context.set_default_timeout(15_000)
    return context.new_page()


def _upload_by_api(page: Page, base_url: str, tmp_path: Path, **fields: str) -> str:
    media = tmp_path / "short.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-ss", "30", "-t", "3", "-i", str(SEED_DIR / "seed.mp4"),
         "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(media)],
        check=True,
    )  # fmt: skip
    response = page.request.post(
        f"{base_url}/api/v1/clips",
        multipart={
            "file": {"name": media.name, "mimeType": "video/mp4", "buffer": media.read_bytes()},
            **fields,
        },
    )
    assert response.status == 202, response.text()
    clip_id: str = response.json()["clip_id"]
    return clip_id


@pytest.mark.parametrize("size", SIZES)
def test_no_page_is_wider_than_the_screen(
    browser: Browser, live_service: str, uploaded_clip: UploadedClip, artifacts_dir: Path, size: str
) -> None:
    page = _page(browser, size)
    pages = {
        "upload": "/",
        "library": "/library",
        "search": "/search?q=форум",
        "speakers": "/speakers",
        "editor": f"/clips/{uploaded_clip.clip_id}",
    }
    for name, path in pages.items():
        page.goto(f"{live_service}{path}")
        page.wait_for_load_state("networkidle")
        widths = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        page.screenshot(path=str(artifacts_dir / f"page-{name}-{size}.png"), full_page=True)
        assert widths[0] <= widths[1], f"{name} at {size} is {widths[0]} px wide in {widths[1]}"
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_library_lists_filters_edits_and_deletes(
    browser: Browser,
    live_service: str,
    uploaded_clip: UploadedClip,
    artifacts_dir: Path,
    tmp_path: Path,
    size: str,
) -> None:
    page = _page(browser, size)
    programme = f"Итоги недели {size}"
    doomed = _upload_by_api(
        page, live_service, tmp_path, title=f"Черновик {size}", programme=programme,
        air_date="2026-11-20",
    )  # fmt: skip
    page.goto(f"{live_service}/library")
    cards = page.locator(".library-card")
    expect(cards.filter(has_text=uploaded_clip.title)).to_have_count(1)

    # Filter by programme in another case; dates are typed the Russian way.
    page.fill("#lib-programme", programme.lower())
    page.fill("#lib-from", "01.11.2026")
    page.press("#lib-from", "Enter")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("20.11.2026")
    page.screenshot(path=str(artifacts_dir / f"library-filtered-{size}.png"), full_page=True)

    # Edit the metadata; focus comes back to the card's edit button.
    cards.first.locator("[data-action=edit]").click()
    title = cards.first.locator(".clip-form input[name=title]")
    expect(title).to_be_focused()
    title.fill(f"Итоговый выпуск {size}")
    cards.first.locator(".clip-form input[name=air_date]").fill("21.11.2026")
    cards.first.locator(".clip-form button[type=submit]").click()
    expect(cards.first).to_contain_text(f"Итоговый выпуск {size}")
    expect(cards.first).to_contain_text("21.11.2026")
    expect(cards.first.locator("[data-action=edit]")).to_be_focused()
    clip = page.request.get(f"{live_service}/api/v1/clips/{doomed}").json()
    assert (clip["title"], clip["air_date"]) == (f"Итоговый выпуск {size}", "2026-11-21")

    # Its exports are named by air date, programme and title.
    srt = page.request.get(
        f"{live_service}/api/v1/transcripts/{uploaded_clip.clip_id}/export?format=srt"
    )
    assert "2026-11-20_Новости_" in unquote(srt.headers["content-disposition"])

    # Delete after confirming; it is gone from the list and from the API.
    page.once("dialog", lambda dialog: dialog.accept())
    cards.first.locator("[data-action=delete]").click()
    expect(cards).to_have_count(0)
    expect(page.locator("#library-summary")).to_be_focused()
    assert page.request.get(f"{live_service}/api/v1/clips/{doomed}").status == 404
    found = page.request.get(f"{live_service}/api/v1/search?q=Черновик").json()
    assert doomed not in [clip["clip_id"] for clip in found["clips"]]
    page.screenshot(path=str(artifacts_dir / f"library-after-delete-{size}.png"), full_page=True)
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_search_takes_russian_quotes_as_a_phrase(
    browser: Browser, live_service: str, uploaded_clip: UploadedClip, size: str
) -> None:
    page = _page(browser, size)
    page.goto(f"{live_service}/search")
    # Adjacent in the seed's opening («гражданский форум»); apart, the words would match
    # other segments too.
    page.fill("#search-q", "«гражданский форум»")
    page.press("#search-q", "Enter")
    # Exact hits hold the phrase; misheard ones («гражданский вторум»), fetched after
    # them, say that they only sound like it.
    exact = page.locator('.hit:not([data-match="sounds_like"])')
    expect(exact.first).to_be_visible()
    expect(page.locator("#search-summary")).to_be_focused()
    for text in exact.all_inner_texts():
        assert re.search(r"гражданск\w* форум", text, re.IGNORECASE), text
    for text in page.locator('.hit[data-match="sounds_like"]').all_inner_texts():
        assert "похоже по звучанию" in text, text
    straight = page.request.get(
        f"{live_service}/api/v1/search", params={"q": '"гражданский форум"', "fuzzy": "false"}
    ).json()
    quoted = page.request.get(
        f"{live_service}/api/v1/search", params={"q": "«гражданский форум»", "fuzzy": "false"}
    ).json()
    assert quoted["hit_count"] == straight["hit_count"] > 0
    page.context.close()
