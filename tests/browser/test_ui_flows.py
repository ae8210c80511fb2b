"""The newsroom's flows in headless Chromium against the real API and a real worker.

Each flow leaves screenshots in test-artifacts/browser/. The clip is the first 25 s of
the seed broadcast, uploaded once through the UI (``uploaded_clip``) and shared.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from support.browser_support import UploadedClip, truth_word_times

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEEK_TOLERANCE_S = 0.3


def _wait_for_player_at(page: Page, seconds: float) -> float:
    """The player's currentTime once it is within the tolerance of ``seconds``."""
    page.wait_for_function(
        "([target, tolerance]) =>"
        " Math.abs(document.getElementById('player').currentTime - target) <= tolerance",
        arg=[seconds, SEEK_TOLERANCE_S],
    )
    return float(page.evaluate("document.getElementById('player').currentTime"))


def _open_editor(page: Page, base_url: str, clip_id: str) -> None:
    page.goto(f"{base_url}/clips/{clip_id}")
    page.locator("#transcript .w").first.wait_for()
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")


def _transcript(page: Page, base_url: str, clip_id: str) -> dict[str, Any]:
    response = page.request.get(f"{base_url}/api/v1/transcripts/{clip_id}")
    assert response.ok, response.text()
    data: dict[str, Any] = response.json()
    return data


def test_upload_reaches_done(
    uploaded_clip: UploadedClip, live_service: str, page: Page, artifacts_dir: Path
) -> None:
    page.goto(f"{live_service}/")
    row = page.locator(f"#job-list .job[data-job-id='{uploaded_clip.job_id}']")
    expect(row.locator(".job-state")).to_have_text("Готово")
    expect(row.locator("a", has_text="Открыть редактор")).to_have_attribute(
        "href", f"/clips/{uploaded_clip.clip_id}"
    )
    page.screenshot(path=artifacts_dir / "upload-4-queue-done.png")


def test_upload_of_a_non_media_file_shows_the_apis_reason(
    live_service: str, page: Page, tmp_path: Path, artifacts_dir: Path
) -> None:
    not_media = tmp_path / "заметки.txt"
    not_media.write_text("это не видео", encoding="utf-8")
    page.goto(f"{live_service}/")
    page.set_input_files("#file-input", str(not_media))
    page.click("#upload-submit")
    item = page.locator("#pending-files .file-item.is-error")
    expect(item).to_contain_text("заметки.txt")
    reason = item.locator(".file-error")
    expect(reason).not_to_be_empty()
    assert not re.search(r"[A-Za-z]{4,}", reason.inner_text()), "one language on screen"
    expect(item.locator("progress")).to_be_hidden()  # a full bar looked finished
    expect(page.locator("#upload-submit")).to_be_disabled()  # failed files are not re-sent
    status = page.locator("#status")
    expect(status).to_contain_text("Не загружено файлов: 1")
    page.screenshot(path=artifacts_dir / "upload-error.png")
    page.click("#status-close")
    expect(status).to_be_hidden()


def test_clicking_a_word_seeks_the_player_to_it(
    uploaded_clip: UploadedClip, live_service: str, page: Page, artifacts_dir: Path
) -> None:
    _open_editor(page, live_service, uploaded_clip.clip_id)
    words = [
        w
        for s in _transcript(page, live_service, uploaded_clip.clip_id)["segments"]
        for w in s["words"]
    ]
    assert len(words) > 10
    target_index = len(words) * 2 // 3
    target = page.locator("#transcript .w").nth(target_index)
    expect(target).to_have_text(words[target_index]["word"].strip())
    target.click()
    word_start = words[target_index]["start"]
    assert abs(_wait_for_player_at(page, word_start) - word_start) <= SEEK_TOLERANCE_S
    expect(target).to_have_class(re.compile(r"\bis-current\b"))
    page.screenshot(path=artifacts_dir / "editor-word-seek.png")


def test_keyboard_alone_seeks_from_the_caret(
    uploaded_clip: UploadedClip, live_service: str, page: Page
) -> None:
    _open_editor(page, live_service, uploaded_clip.clip_id)
    segment = _transcript(page, live_service, uploaded_clip.clip_id)["segments"][1]
    assert len(segment["words"]) >= 3
    paragraph = page.locator("#transcript .seg-text").nth(1)
    paragraph.focus()
    # The caret before the third word, as arrow keys would leave it.
    paragraph.evaluate(
        """(node) => {
            const range = document.createRange();
            range.setStart(node.querySelectorAll(".w")[2].firstChild, 0);
            range.collapse(true);
            document.getSelection().removeAllRanges();
            document.getSelection().addRange(range);
        }"""
    )
    page.keyboard.press("Alt+Enter")
    _wait_for_player_at(page, segment["words"][2]["start"])
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.getElementById('player').paused")


def test_renamed_speaker_appears_in_exports(
    uploaded_clip: UploadedClip, live_service: str, page: Page, artifacts_dir: Path
) -> None:
    clip_id = uploaded_clip.clip_id
    _open_editor(page, live_service, clip_id)
    before = _transcript(page, live_service, clip_id)
    first_turn = page.locator("#transcript .turn").first
    first_turn.locator(".speaker-caption").click()
    form = first_turn.locator(".speaker-form")
    # The form opens with what the heading shows, not empty.
    expect(form.locator("input[name=name]")).to_have_value(
        first_turn.locator(".speaker-caption").inner_text()
    )
    form.locator("input[name=name]").fill("Айгерим ТЕСТОВА")
    form.locator("input[name=title]").fill("ВЕДУЩАЯ НОВОСТЕЙ")
    page.screenshot(path=artifacts_dir / "editor-rename-1-form.png")
    form.locator("button[type=submit]").click()
    expect(page.locator("#save-state")).to_have_text(f"Сохранено (версия {before['revision'] + 1})")
    expect(page.locator(".speaker-caption").first).to_have_text("Айгерим ТЕСТОВА, ВЕДУЩАЯ НОВОСТЕЙ")
    page.screenshot(path=artifacts_dir / "editor-rename-2-saved.png")

    vtt = page.request.get(f"{live_service}/api/v1/transcripts/{clip_id}/export?format=vtt")
    assert vtt.ok
    assert "<v Айгерим ТЕСТОВА>" in vtt.text()
    txt = page.request.get(f"{live_service}/api/v1/transcripts/{clip_id}/export?format=txt")
    assert "Айгерим ТЕСТОВА" in txt.text()
    # The editor's export link is the same file.
    href = page.locator("#export-links a[data-format=vtt]").get_attribute("href")
    assert page.request.get(f"{live_service}{href}").text() == vtt.text()


def test_typed_correction_autosaves_and_an_older_revision_restores(
    uploaded_clip: UploadedClip, live_service: str, page: Page, artifacts_dir: Path
) -> None:
    clip_id = uploaded_clip.clip_id
    _open_editor(page, live_service, clip_id)
    before = _transcript(page, live_service, clip_id)
    paragraph = page.locator("#transcript .seg-text").first
    paragraph.click()
    page.keyboard.press("Control+End")
    page.keyboard.type(" Проверка")
    expect(page.locator("#save-state")).to_have_text(f"Сохранено (версия {before['revision'] + 1})")
    saved = _transcript(page, live_service, clip_id)
    assert saved["segments"][0]["text"].endswith("Проверка")
    assert saved["segments"][0]["words"][-1]["word"].strip() == "Проверка"
    page.screenshot(path=artifacts_dir / "editor-autosave.png")

    older = page.locator(f"#revision-list li[data-revision='{before['revision']}'] button")
    older.click()
    expect(page.locator("#save-state")).to_have_text(f"Восстановлена версия {before['revision']}")
    restored = _transcript(page, live_service, clip_id)
    assert restored["revision"] == before["revision"] + 2
    assert restored["segments"] == before["segments"]
    expect(paragraph).not_to_contain_text("Проверка")
    # The history reads for people, in the page's language, not as stored machine notes.
    history = page.locator("#revision-list")
    newest = history.locator(f"li[data-revision='{restored['revision']}']")
    expect(newest).to_contain_text(f"Восстановлена версия {before['revision']}")
    expect(history.locator(f"li[data-revision='{restored['revision'] - 1}']")).to_contain_text(
        f"Правка версии {before['revision']}"
    )
    expect(history).to_contain_text("Распознавание")
    expect(history).not_to_contain_text("efir-worker")
    expect(history).not_to_contain_text("of revision")
    page.screenshot(path=artifacts_dir / "editor-restored.png")


def test_search_lands_on_the_moment_in_the_editor(
    uploaded_clip: UploadedClip, live_service: str, page: Page, artifacts_dir: Path
) -> None:
    spoken_at = truth_word_times("костана")
    assert spoken_at, "the cut must contain the word"
    page.goto(f"{live_service}/search")
    page.fill("#search-q", "Костанай")
    page.click("#search-form button[type=submit]")
    hit = page.locator(f".result-clip[data-clip-id='{uploaded_clip.clip_id}'] a.hit").first
    expect(hit.locator("mark").first).to_contain_text(re.compile("Костана", re.IGNORECASE))
    page.screenshot(path=artifacts_dir / "search-1-results.png")

    hit.click()
    page.wait_for_url(re.compile(rf"/clips/{uploaded_clip.clip_id}\?t="))
    current_word = page.locator("#transcript .w.is-current")
    expect(current_word).to_contain_text(re.compile("Костана", re.IGNORECASE))
    word_start = float(current_word.get_attribute("data-start") or "nan")
    landed_at = _wait_for_player_at(page, word_start)
    # The word the recogniser timed is where the speaker really says it (TTS truth).
    assert min(abs(landed_at - t) for t in spoken_at) <= 1.0, (landed_at, spoken_at)
    page.screenshot(path=artifacts_dir / "search-2-editor-at-moment.png")


def test_registry_learns_a_named_speaker_and_lends_it_to_another_turn(
    uploaded_clip: UploadedClip, live_service: str, page: Page, artifacts_dir: Path
) -> None:
    clip_id = uploaded_clip.clip_id
    _open_editor(page, live_service, clip_id)
    turns = page.locator("#transcript .turn")
    assert turns.count() >= 2, "the cut has the anchor and the correspondent"
    last_turn = turns.last
    last_turn.locator(".speaker-caption").click()
    last_turn.locator(".speaker-form input[name=name]").fill("Дана КОРРЕСПОНДЕНТОВА")
    last_turn.locator(".speaker-form button[type=submit]").click()
    expect(last_turn.locator(".speaker-caption")).to_have_text("Дана КОРРЕСПОНДЕНТОВА")

    # The registry learned the voice; correct its title on the speakers page.
    page.goto(f"{live_service}/speakers")
    page.get_by_role("button", name="Изменить: Дана КОРРЕСПОНДЕНТОВА", exact=True).click()
    page.fill(".voice-form input[name=title]", "СОБСТВЕННЫЙ КОРРЕСПОНДЕНТ")
    page.select_option(".voice-form select[name=role]", "correspondent")
    page.screenshot(path=artifacts_dir / "speakers-edit.png")
    # The rename offers to reach the clips where the voice was matched: yes.
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click(".voice-form button[type=submit]")
    row = page.locator("#speakers-body tr").filter(has_text="Дана КОРРЕСПОНДЕНТОВА")
    expect(row).to_contain_text("СОБСТВЕННЫЙ КОРРЕСПОНДЕНТ")
    expect(page.locator("#status-text")).to_have_text("Обновлено сюжетов: 1")
    assert asked and "Дана КОРРЕСПОНДЕНТОВА" in asked[0]
    named = [s for s in _transcript(page, live_service, clip_id)["speakers"] if s["name"]]
    assert ("Дана КОРРЕСПОНДЕНТОВА", "СОБСТВЕННЫЙ КОРРЕСПОНДЕНТ") in {
        (s["name"], s["title"]) for s in named
    }
    found = page.request.get(
        f"{live_service}/api/v1/search?q=тема&speaker=собственный корреспондент"
    ).json()
    assert clip_id in [clip["clip_id"] for clip in found["clips"]]
    expect(row).to_contain_text("Корр")
    voices = page.request.get(f"{live_service}/api/v1/voices").json()
    voice = next(v for v in voices if v["name"] == "Дана КОРРЕСПОНДЕНТОВА")
    assert (voice["title"], voice["role"]) == ("СОБСТВЕННЫЙ КОРРЕСПОНДЕНТ", "correspondent")

    # Back in the editor, the first turn is that person too: pick her from the registry.
    _open_editor(page, live_service, clip_id)
    first_turn = page.locator("#transcript .turn").first
    first_turn.locator(".speaker-caption").click()
    form = first_turn.locator(".speaker-form")
    form.locator("select[name=voice]").select_option(voice["id"])
    expect(form.locator("input[name=name]")).to_be_disabled()
    expect(form.locator("input[name=title]")).to_have_value("СОБСТВЕННЫЙ КОРРЕСПОНДЕНТ")
    form.locator("button[type=submit]").click()
    expect(page.locator("#transcript .turn .speaker-caption").first).to_have_text(
        "Дана КОРРЕСПОНДЕНТОВА, СОБСТВЕННЫЙ КОРРЕСПОНДЕНТ"
    )
    speakers = _transcript(page, live_service, clip_id)["speakers"]
    assert voice["id"] in {speaker["voice_id"] for speaker in speakers}
    page.screenshot(path=artifacts_dir / "editor-registry-voice.png")
