"""One language on screen: every page, and the error states people meet, walked in Russian
and in English; the interface's own words (labels, buttons, hints, messages) must all be in
the chosen language. Transcript text, titles and names are content and are not checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from support.browser_support import UploadedClip

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Interface text, and the dynamic messages that show errors and states.
CHROME = """() => {
  const texts = [];
  for (const node of document.querySelectorAll(
      '[data-i18n], #status-text, .file-error, #search-summary, #library-summary, .job-state')) {
    if (node.closest('.seg-text')) continue;
    texts.push(node.textContent.trim());
  }
  for (const node of document.querySelectorAll('[data-i18n-placeholder]')) {
    texts.push(node.placeholder);
  }
  for (const node of document.querySelectorAll('[data-i18n-aria-label]')) {
    texts.push(node.getAttribute('aria-label') || '');
  }
  return texts.filter(Boolean);
}"""
# Latin words a Russian screen may show: format names, keys, the language switch.
LATIN_ALLOWED = {"SRT", "VTT", "TTML", "TXT", "DOCX", "JSON", "RU", "EN", "Alt", "Esc", "Enter"}
CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def _foreign(language: str, text: str) -> list[str]:
    if language == "en":
        return [text] if CYRILLIC.search(text) else []
    words = re.findall(r"[A-Za-z]{3,}", text)
    return [word for word in words if word not in LATIN_ALLOWED]


def _walk(page: Page, base_url: str, clip: UploadedClip, tmp_path: Path) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for name, path in {
        "upload": "/",
        "library": "/library",
        "search": "/search?q=форум",
        "speakers": "/speakers",
        "editor": f"/clips/{clip.clip_id}",
        "editor-missing": "/clips/00000000000000000000000000000000",
        "search-error": "/search?q=-только",
    }.items():
        page.goto(f"{base_url}{path}")
        page.wait_for_load_state("networkidle")
        seen[name] = page.evaluate(CHROME)
    not_media = tmp_path / "notes.txt"
    not_media.write_text("это не видео", encoding="utf-8")
    page.goto(f"{base_url}/")
    page.set_input_files("#file-input", str(not_media))
    page.click("#upload-submit")
    page.locator("#pending-files .file-error").wait_for()
    seen["upload-error"] = page.evaluate(CHROME)
    return seen


@pytest.mark.parametrize("language", ["ru", "en"])
def test_no_page_mixes_languages(
    browser: Browser,
    live_service: str,
    uploaded_clip: UploadedClip,
    tmp_path: Path,
    artifacts_dir: Path,
    language: str,
) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
    context.add_init_script(f"localStorage.setItem('efir.lang', '{language}')")
    page = context.new_page()
    seen = _walk(page, live_service, uploaded_clip, tmp_path)
    page.screenshot(path=str(artifacts_dir / f"upload-error-{language}.png"))
    context.close()
    mixed = {
        name: foreign
        for name, texts in seen.items()
        if (foreign := [word for text in texts for word in _foreign(language, text)])
    }
    assert all(seen.values()), "every page shows interface text"
    assert mixed == {}
