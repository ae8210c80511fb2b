"""Sound-alike search hits in the UI: labelled «похоже по звучанию», and the switch
that turns them off. Real service, real worker, real Chromium; the shared seed cut."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from support.browser_support import UploadedClip

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_sounds_like_hits_are_labelled_and_the_switch_removes_them(
    uploaded_clip: UploadedClip, live_service: str, page: Page, artifacts_dir: Path
) -> None:
    clip_id = uploaded_clip.clip_id
    transcripts = f"{live_service}/api/v1/transcripts/{clip_id}"
    before = page.request.get(transcripts).json()
    first, last = before["segments"][0], before["segments"][-1]
    assert first["id"] != last["id"], "the cut has more than one segment"
    # An editor's save, as the recogniser might have heard it: one segment says the
    # word, another a misheard spelling of it.
    ops = [
        {"op": "set_text", "segment_id": first["id"], "text": f"{first['text']} Гости из Бельгии."},
        {"op": "set_text", "segment_id": last["id"], "text": f"{last['text']} Гости из Бильгей."},
    ]
    saved = page.request.patch(transcripts, data={"base_revision": before["revision"], "ops": ops})
    assert saved.ok, saved.text()
    try:
        page.goto(f"{live_service}/search?q=Бельгия")
        hits = page.locator(f".result-clip[data-clip-id='{clip_id}'] a.hit")
        expect(hits).to_have_count(2)
        expect(hits.nth(0).locator(".hit-match")).to_have_count(0)
        expect(hits.nth(0).locator("mark")).to_have_text("Бельгии")
        expect(hits.nth(1).locator(".hit-match")).to_have_text("похоже по звучанию")
        expect(hits.nth(1).locator(".hit-match")).to_have_attribute(
            "title", "В расшифровке: «Бильгей»"
        )
        expect(hits.nth(1).locator("mark")).to_have_text("Бильгей")
        page.screenshot(path=artifacts_dir / "search-sounds-like.png")

        page.uncheck("#search-fuzzy")
        expect(hits).to_have_count(1)
        expect(page.locator(".hit-match")).to_have_count(0)
        expect(page).to_have_url(re.compile(r"fuzzy=false"))
        page.screenshot(path=artifacts_dir / "search-exact-only.png")

        # The switch's state lives in the URL, so a shared link keeps it.
        page.reload()
        expect(page.locator("#search-fuzzy")).not_to_be_checked()
        expect(hits).to_have_count(1)
    finally:
        restore = f"{transcripts}/revisions/{before['revision']}/restore"
        assert page.request.post(restore).ok
