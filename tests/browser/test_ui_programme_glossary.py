"""A programme's glossary in the browser: the upload form names the terms the programme
adds to the clip's glossary and keeps the clip's glossary as the programme's when asked;
the editor's «add to glossary» teaches the clip's programme."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect
from support.browser_support import with_other_bytes
from support.service_support import save_clip_with_transcript

from efir.config import Settings

GLOSSARY = "/api/v1/programme-glossary"


def _kept(page: Page, base_url: str, programme: str) -> list[str]:
    """The programme's glossary as the server keeps it."""
    answer = page.request.get(f"{base_url}{GLOSSARY}", params={"programme": programme})
    terms: list[str] = answer.json()["terms"]
    return terms


def test_the_upload_form_shows_and_keeps_a_programmes_glossary(
    live_service: str, page: Page, browser_clip_media: Path, artifacts_dir: Path, tmp_path: Path
) -> None:
    media = with_other_bytes(browser_clip_media, tmp_path / "evening.mp4")
    programme = "Вечерний выпуск"
    put = page.request.put(
        f"{live_service}{GLOSSARY}", data={"programme": programme, "terms": ["Спанов", "Костанай"]}
    )
    assert put.ok, put.text()
    page.goto(f"{live_service}/")
    remember = page.get_by_label("Запомнить словарь для программы", exact=False)
    hint = page.locator("#programme-glossary")
    expect(remember).to_be_disabled()  # no programme, nothing to keep it for
    expect(hint).to_be_hidden()

    page.fill("#meta-programme", programme)
    expect(hint).to_have_text(
        "Словарь программы «Вечерний выпуск» (2): Спанов, Костанай — добавится к словарю сюжета."
    )
    page.set_input_files("#file-input", str(media))
    page.fill("#meta-title", "Вечерний сюжет")
    page.fill("#meta-glossary", "Тобол")
    remember.check()
    page.screenshot(path=artifacts_dir / "programme-glossary-1-form.png")
    page.click("#upload-submit")

    row = page.locator("#job-list .job").filter(has_text="Вечерний сюжет").first
    expect(row).to_be_visible(timeout=60_000)
    job_id = row.get_attribute("data-job-id")
    # Cancelled, so the shared worker does not spend its time on this clip.
    assert page.request.post(f"{live_service}/api/v1/jobs/{job_id}/cancel").ok
    assert _kept(page, live_service, programme) == ["Спанов", "Костанай", "Тобол"]
    # The form starts clean for the next file: no programme, no hint, nothing to keep.
    expect(page.locator("#meta-programme")).to_have_value("")
    expect(hint).to_be_hidden()
    expect(remember).to_be_disabled()


def test_an_editors_glossary_word_reaches_the_clips_programme(
    live_service: str, live_settings: Settings, page: Page
) -> None:
    clip_id = save_clip_with_transcript(live_settings.sqlalchemy_url, "Добрый вечер, Кустанай.")
    programme = "Новости области"
    patched = page.request.patch(
        f"{live_service}/api/v1/clips/{clip_id}", data={"programme": programme}
    )
    assert patched.ok, patched.text()
    page.goto(f"{live_service}/clips/{clip_id}")
    page.locator("#transcript .seg-text").first.wait_for()
    page.fill("#replace-find", "Кустанай")
    page.fill("#replace-with", "Костанай")
    page.check("#replace-glossary")
    page.click("#replace-form button[type=submit]")
    expect(page.locator("#status-text")).to_contain_text(
        "«Костанай» добавлено в словарь сюжета и программы «Новости области»"
    )
    assert _kept(page, live_service, programme) == ["Костанай"]


def test_an_editor_edits_a_programmes_glossary_on_the_upload_form(
    live_service: str, page: Page, artifacts_dir: Path
) -> None:
    programme = "Утренний выпуск"
    page.goto(f"{live_service}/")
    editor = page.locator("#programme-glossary-editor")
    expect(editor).to_be_hidden()  # no programme yet
    page.fill("#meta-programme", programme)
    editor.locator("summary").click()
    page.fill("#programme-glossary-terms", "Аким\nТобол\n\nАким")
    page.get_by_role("button", name="Сохранить словарь программы").click()
    hint = page.locator("#programme-glossary")
    expect(hint).to_have_text(
        "Словарь программы «Утренний выпуск» (2): Аким, Тобол — добавится к словарю сюжета."
    )
    page.screenshot(path=artifacts_dir / "programme-glossary-2-edited.png")
    assert _kept(page, live_service, programme) == ["Аким", "Тобол"]
    page.fill("#programme-glossary-terms", "Тобол")  # a wrong term taken out
    page.get_by_role("button", name="Сохранить словарь программы").click()
    expect(hint).to_contain_text("(1): Тобол")
    assert _kept(page, live_service, programme) == ["Тобол"]
