"""The editor's cut section in Chromium: words selected in the transcript are cut by the
live worker into a file the page links when done, and added to a new selection whose
exports it then links. The clip is the seed with its recorded transcript (no model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from support.browser_support import SEED_DIR
from support.cut_support import seed_transcript, store_clip

from efir.config import Settings

pytestmark = pytest.mark.browser

SELECT_WORDS = """([first, last]) => {
  const words = [...document.querySelectorAll('#transcript span.w')];
  const from = words.find((w) => Number(w.dataset.start) === first);
  const to = words.find((w) => Number(w.dataset.end) === last);
  const range = document.createRange();
  range.setStartBefore(from);
  range.setEndAfter(to);
  const selection = document.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}"""


def test_selected_words_are_cut_and_added_to_a_selection(
    page: Page, live_service: str, live_settings: Settings, artifacts_dir: Path
) -> None:
    clip_id = store_clip(live_settings, SEED_DIR / "seed.mp4", seed_transcript(), title="Форум")
    page.goto(f"{live_service}/clips/{clip_id}")
    page.locator("#transcript span.w").first.wait_for()
    page.evaluate(SELECT_WORDS, [46.17, 51.21])
    expect(page.locator("#cut-span")).to_contain_text("46.17–51.21")
    page.select_option("#cut-subtitles", "burn")
    page.click("#cut-button")
    expect(page.locator("#cut-state")).to_be_visible()
    download = page.locator("#cut-download")
    download.wait_for(timeout=180_000)
    page.screenshot(path=artifacts_dir / "cuts-1-ready.png")
    media = page.request.get(f"{live_service}{download.get_attribute('href')}")
    assert media.status == 200 and media.headers["content-type"] == "video/mp4"
    assert len(media.body()) > 10_000

    page.fill("#selection-name", "Вечерний выпуск")
    page.click("#add-to-selection")
    expect(page.locator("#cuts-section a", has_text="EDL")).to_be_visible()
    selections = page.request.get(f"{live_service}/api/v1/selections").json()
    chosen = next(s for s in selections if s["name"] == "Вечерний выпуск")
    quotes = page.request.get(f"{live_service}/api/v1/selections/{chosen['id']}").json()["quotes"]
    assert [(q["clip_id"], q["start_s"], q["end_s"]) for q in quotes] == [(clip_id, 46.17, 51.21)]
    edl = page.request.get(f"{live_service}/api/v1/selections/{chosen['id']}/export?format=edl")
    assert edl.status == 200 and "00:00:46:04 00:00:51:05" in edl.text()

    # The whole selection as one MP4, followed and linked in the same line.
    quote_file = page.locator("#cut-download").get_attribute("href")
    page.check("#render-subtitles")
    page.click("#render-selection")
    page.wait_for_function(
        """(old) => {
          const link = document.querySelector('#cut-download');
          return link !== null && link.getAttribute('href') !== old;
        }""",
        arg=quote_file,
        timeout=180_000,
    )
    reel_file = page.locator("#cut-download").get_attribute("href") or ""
    reel = page.request.get(f"{live_service}{reel_file}")
    assert reel.status == 200 and reel.headers["content-type"] == "video/mp4"
    reel_cut = page.request.get(f"{live_service}{reel_file.removesuffix('/file')}").json()
    assert reel_cut["spec"]["subtitles"] == "burn"  # the box was ticked
    assert "Vecherny-vypusk" in reel.headers["content-disposition"]
