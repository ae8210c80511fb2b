"""Everyday editor flows that used to trip people up, in headless Chromium against the real
API and the worker-made transcript of the seed cut: a merge across a speaker change asks
whose the text is (and cancelling changes nothing), a new speaker is numbered, a misheard
word is replaced in all its forms, unsure words are marked and reached by key, everything
can be done from the keyboard (retiming, «Заменить везде», the cue overlay, a typed date),
and the cue overlay shows the SRT export. Focus stays on the work throughout; each flow
leaves the shared clip as it found it."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pysubs2
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from support.browser_support import UploadedClip

from efir.config import Settings
from efir.db import Job, make_engine, make_session_factory

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _transcript(page: Page, base_url: str, clip_id: str) -> dict[str, Any]:
    response = page.request.get(f"{base_url}/api/v1/transcripts/{clip_id}")
    assert response.ok, response.text()
    body: dict[str, Any] = response.json()
    return body


@contextmanager
def _editing(page: Page, base_url: str, clip_id: str) -> Iterator[dict[str, Any]]:
    """The editor open on the shared clip, player ready; yields the transcript as it was
    and restores it afterwards, so the other flows see the worker's transcript."""
    page.goto(f"{base_url}/clips/{clip_id}")
    page.locator("#transcript .seg-text").first.wait_for()
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    before = _transcript(page, base_url, clip_id)
    try:
        yield before
    finally:
        if _transcript(page, base_url, clip_id)["segments"] != before["segments"]:
            restore = f"{base_url}/api/v1/transcripts/{clip_id}/revisions/{before['revision']}"
            assert page.request.post(f"{restore}/restore").ok


def _saved_as(page: Page, revision: int) -> None:
    expect(page.locator("#save-state")).to_have_text(f"Сохранено (версия {revision})")


def test_a_duplicate_upload_is_recognised(
    uploaded_clip: UploadedClip,
    live_service: str,
    page: Page,
    browser_clip_media: Path,
    artifacts_dir: Path,
) -> None:
    page.goto(f"{live_service}/")
    page.set_input_files("#file-input", str(browser_clip_media))
    page.fill("#meta-title", "Тот же файл ещё раз")
    page.click("#upload-submit")
    item = page.locator("#pending-files .file-item.is-error")
    expect(item).to_contain_text("Этот файл уже загружен")
    expect(item.get_by_role("link", name="открыть")).to_have_attribute(
        "href", f"/clips/{uploaded_clip.clip_id}"
    )
    page.screenshot(path=artifacts_dir / "upload-duplicate.png")
    jobs_before = page.request.get(f"{live_service}/api/v1/jobs?limit=200").json()

    item.get_by_role("button", name="распознать заново").click()
    expect(page.locator("#pending-files .file-item")).to_have_count(0)
    jobs_after = page.request.get(f"{live_service}/api/v1/jobs?limit=200").json()
    (new_job,) = [
        job
        for job in _listed(jobs_after)
        if job["id"] not in {job["id"] for job in _listed(jobs_before)}
    ]
    assert new_job["clip_id"] != uploaded_clip.clip_id
    # The form starts clean for the next file.
    expect(page.locator("#meta-title")).to_have_value("")
    page.request.post(f"{live_service}/api/v1/jobs/{new_job['id']}/cancel")


def _listed(payload: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = payload if isinstance(payload, list) else payload["data"]
    return items


def test_merge_across_a_speaker_change_asks_whose_text_it_is(
    uploaded_clip: UploadedClip, live_service: str, page: Page, artifacts_dir: Path
) -> None:
    clip_id = uploaded_clip.clip_id
    with _editing(page, live_service, clip_id) as before:
        segments = before["segments"]
        boundary = next(
            i
            for i in range(len(segments) - 1)
            if segments[i]["speaker"] != segments[i + 1]["speaker"]
        )
        first, second = segments[boundary], segments[boundary + 1]
        merge = page.locator(f".segment[data-segment-id='{first['id']}'] [data-action=merge]")
        first_text = page.locator(f".seg-text[data-segment-id='{first['id']}']")

        merge.click()
        dialog = page.locator("dialog.choice-dialog")
        expect(dialog).to_be_visible()
        page.screenshot(path=artifacts_dir / "editor-merge-asks.png")
        page.keyboard.press("Escape")  # cancelling changes nothing
        expect(dialog).to_have_count(0)
        assert _transcript(page, live_service, clip_id)["revision"] == before["revision"]
        expect(first_text).to_be_focused()

        merge.click()
        dialog.locator(f"button[data-speaker-id='{second['speaker']}']").click()
        _saved_as(page, before["revision"] + 1)
        merged = _transcript(page, live_service, clip_id)["segments"][boundary]
        assert merged["speaker"] == second["speaker"]
        assert merged["text"] == f"{first['text']} {second['text']}"
        expect(first_text).to_be_focused()


def test_a_new_speaker_is_numbered_not_named_by_its_id(
    uploaded_clip: UploadedClip, live_service: str, page: Page, artifacts_dir: Path
) -> None:
    with _editing(page, live_service, uploaded_clip.clip_id) as before:
        last = before["segments"][-1]
        picker = page.locator(f".speaker-pick[data-segment-id='{last['id']}']")
        picker.select_option("__new__")
        _saved_as(page, before["revision"] + 1)
        heading = page.locator("#transcript .turn").last.locator(".speaker-caption")
        expect(heading).to_have_text(re.compile(r"^Спикер \d+$"))
        expect(picker).to_be_focused()
        page.screenshot(path=artifacts_dir / "editor-new-speaker.png")


def test_replacing_a_word_changes_all_its_forms_and_keeps_times(
    uploaded_clip: UploadedClip,
    live_service: str,
    live_settings: Settings,
    page: Page,
    artifacts_dir: Path,
) -> None:
    clip_id = uploaded_clip.clip_id
    with _editing(page, live_service, clip_id) as before:
        forms = {
            word["word"].strip(" .,«»")
            for segment in before["segments"]
            for word in segment["words"]
            if word["word"].strip(" .,«»").lower().startswith("форум")
        }
        assert forms, "the seed's opening speaks of the forum"
        page.fill("#replace-find", "форум")
        page.fill("#replace-with", "съезд")
        page.check("#replace-glossary")  # and the clip's glossary learns the word
        page.click("#replace-form button[type=submit]")
        _saved_as(page, before["revision"] + 1)
        expect(page.locator("#status-text")).to_contain_text("«съезд» добавлено в словарь")
        after = _transcript(page, live_service, clip_id)
        text = " ".join(segment["text"] for segment in after["segments"])
        assert "форум" not in text.lower() and "съезд" in text
        if any(form.lower() == "форума" for form in forms):
            assert "съезда" in text  # the genitive stays genitive
        for old, new in zip(before["segments"], after["segments"], strict=True):
            assert [(w["start"], w["end"]) for w in old["words"]] == [
                (w["start"], w["end"]) for w in new["words"]
            ]
        expect(page.locator("#replace-find")).to_be_focused()
        page.screenshot(path=artifacts_dir / "editor-replace.png")
    engine = make_engine(live_settings.sqlalchemy_url)
    try:
        with make_session_factory(engine)() as session:
            newest = select(Job).where(Job.clip_id == clip_id).order_by(Job.created_at.desc())
            job = session.scalars(newest).first()
            assert job is not None and "съезд" in job.options["glossary"]  # a re-run reads it
    finally:
        engine.dispose()


def _unsure_words(transcript: dict[str, Any]) -> list[dict[str, Any]]:
    """Unsure: a low word probability, or a word the repair step changed."""
    words = (word for segment in transcript["segments"] for word in segment["words"])
    return [w for w in words if w["probability"] < 0.5 or w.get("repaired_from")]


def test_unsure_words_are_marked_and_next_unsure_lands_on_the_next(
    uploaded_clip: UploadedClip, live_service: str, page: Page, artifacts_dir: Path
) -> None:
    with _editing(page, live_service, uploaded_clip.clip_id) as before:
        words = [word for segment in before["segments"] for word in segment["words"]]
        unsure = _unsure_words(before)
        assert unsure, "the worker-made transcript of the seed cut has unsure words"
        marked = page.locator("#transcript .w.unsure")
        expect(marked).to_have_count(len(unsure))
        repaired = [w for w in words if w.get("repaired_from")]
        if repaired:  # what the model first heard is one hover away
            title = page.locator("#transcript .w.repaired").first.get_attribute("title") or ""
            assert repaired[0]["repaired_from"].strip() in title
        decoration = "e => getComputedStyle(e).textDecorationLine"
        assert marked.first.evaluate(decoration) == "underline"

        page.keyboard.press("Alt+N")  # from the start: the first unsure word
        target = page.locator("#transcript .w.is-target")
        expect(target).to_have_attribute("data-start", str(unsure[0]["start"]))
        page.screenshot(path=artifacts_dir / "editor-next-unsure.png")
        if len(unsure) > 1:
            page.evaluate("document.getElementById('player').pause()")
            page.evaluate(
                f"document.getElementById('player').currentTime = {unsure[0]['start'] + 0.01}"
            )
            page.click("#next-unsure")
            expect(target).to_have_attribute("data-start", str(unsure[1]["start"]))
        played = page.evaluate("document.getElementById('player').currentTime")
        assert played <= float(target.get_attribute("data-start") or 0)  # just before it

        page.uncheck("#show-unsure")  # the switch turns the marking off
        assert marked.first.evaluate(decoration) == "none"


def test_a_keyboard_only_session(
    uploaded_clip: UploadedClip, live_service: str, page: Page, artifacts_dir: Path
) -> None:
    clip_id = uploaded_clip.clip_id
    player_time = "document.getElementById('player').currentTime"
    with _editing(page, live_service, clip_id) as before:
        page.keyboard.press("?")  # the cheat sheet, and Escape closes it
        sheet = page.locator("dialog.shortcuts")
        expect(sheet).to_contain_text("Alt+N")
        page.screenshot(path=artifacts_dir / "editor-keys.png")
        page.keyboard.press("Escape")
        expect(sheet).to_have_count(0)

        page.keyboard.press("Alt+ArrowDown")  # into the first turn
        expect(page.locator("#transcript .seg-text").first).to_be_focused()
        start = page.evaluate(player_time)
        page.keyboard.press("Alt+ArrowRight")
        assert abs(page.evaluate(player_time) - (start + 2)) < 0.3

        # Merge the first segment with the next (the same speaker), then undo and redo.
        assert before["segments"][0]["speaker"] == before["segments"][1]["speaker"]
        page.keyboard.press("Alt+m")
        _saved_as(page, before["revision"] + 1)
        merged = _transcript(page, live_service, clip_id)
        assert len(merged["segments"]) == len(before["segments"]) - 1
        state = page.locator("#save-state")
        page.keyboard.press("Alt+z")
        expect(state).to_have_text(f"Восстановлена версия {before['revision']}")
        assert _transcript(page, live_service, clip_id)["segments"] == before["segments"]
        page.keyboard.press("Alt+Shift+z")
        expect(state).to_have_text(f"Восстановлена версия {before['revision'] + 1}")
        assert _transcript(page, live_service, clip_id)["segments"] == merged["segments"]


def _shown_cues(page: Page) -> list[tuple[float, float, str]]:
    """(start, end, text) of each cue the player shows over the picture, once its whole
    file is read (the browser parses a track as it arrives: some cues come later)."""
    page.wait_for_function(
        "() => { const e = document.querySelector('#player track');"
        " return e && e.readyState === 2 && e.track.mode === 'showing'"
        " && e.track.cues && e.track.cues.length > 0; }"
    )
    cues: list[list[Any]] = page.evaluate(
        "[...document.getElementById('player').textTracks[0].cues]"
        ".map(c => [c.startTime, c.endTime, c.text.replace(/<[^>]+>/g, '')])"
    )
    return [(start, end, text) for start, end, text in cues]


def _assert_shows_the_srt_export(
    shown: list[tuple[float, float, str]], page: Page, base_url: str, clip_id: str
) -> None:
    srt = page.request.get(f"{base_url}/api/v1/transcripts/{clip_id}/export?format=srt")
    exported = [
        (cue.start / 1000, cue.end / 1000, cue.plaintext.replace("\\N", "\n"))
        for cue in pysubs2.SSAFile.from_string(srt.text(), format_="srt")
    ]
    assert [text for _, _, text in shown] == [text for _, _, text in exported]
    for (start, end, _), (srt_start, srt_end, _) in zip(shown, exported, strict=True):
        assert abs(start - srt_start) < 0.002 and abs(end - srt_end) < 0.002


def test_the_cue_overlay_shows_the_srt_export(
    uploaded_clip: UploadedClip, live_service: str, page: Page
) -> None:
    clip_id = uploaded_clip.clip_id
    with _editing(page, live_service, clip_id):
        page.check("#show-cues")
        shown = _shown_cues(page)
    _assert_shows_the_srt_export(shown, page, live_service, clip_id)


def _tab_to(page: Page, selector: str, key: str = "Tab", limit: int = 60) -> None:
    """Tab round the page (or back, with Shift+Tab) until ``selector`` has the focus."""
    target = page.locator(selector)
    for _ in range(limit):
        if target.evaluate("e => e === document.activeElement"):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{selector} is not reached by {key} in {limit} presses")


def _forum_forms(transcript: dict[str, Any], stem: str) -> list[str]:
    """The endings of the words of ``stem`` in the transcript, in order («форума» → «а»)."""
    words = (w["word"].strip(" .,«»").lower() for s in transcript["segments"] for w in s["words"])
    return [word[len(stem) :] for word in words if word.startswith(stem)]


def test_a_keyboard_only_session_replaces_and_shows_cues(
    uploaded_clip: UploadedClip, live_service: str, page: Page, artifacts_dir: Path
) -> None:
    clip_id = uploaded_clip.clip_id
    with _editing(page, live_service, clip_id) as before:
        page.keyboard.press("?")
        expect(page.locator("dialog.shortcuts")).to_contain_text("Alt+R")
        page.keyboard.press("Escape")
        unsure = _unsure_words(before)
        target = page.locator("#transcript .w.is-target")
        for word in unsure[:2]:  # pressed again during the lead-in: on to the next one
            page.keyboard.press("Alt+n")
            expect(target).to_have_attribute("data-start", str(word["start"]))
        # At work in the transcript, on the unsure word's segment...
        expect(page.locator("#transcript .seg-text:has(.w.is-target)")).to_be_focused()
        page.keyboard.press("Alt+r")  # ...«Заменить везде» is one key away
        expect(page.locator("#replace-find")).to_be_focused()
        page.keyboard.type("форум")
        page.keyboard.press("Tab")
        expect(page.locator("#replace-with")).to_be_focused()
        page.keyboard.type("съезд")
        page.keyboard.press("Enter")  # the form submits on Enter
        _saved_as(page, before["revision"] + 1)
        replaced = _transcript(page, live_service, clip_id)
        endings = _forum_forms(before, "форум")
        assert endings, "the seed's opening speaks of the forum"
        assert _forum_forms(replaced, "форум") == []
        assert _forum_forms(replaced, "съезд") == endings  # every form, its ending kept
        for old, new in zip(before["segments"], replaced["segments"], strict=True):
            assert [(w["start"], w["end"]) for w in old["words"]] == [
                (w["start"], w["end"]) for w in new["words"]
            ]
        expect(page.locator("#replace-find")).to_be_focused()

        _tab_to(page, "#show-cues")
        page.keyboard.press("Space")  # «Субтитры на видео»
        expect(page.locator("#show-cues")).to_be_checked()
        shown = _shown_cues(page)
        page.screenshot(path=artifacts_dir / "editor-keys-replace-cues.png")
        assert any("съезд" in text for _, _, text in shown)  # the cues follow the edit
        _assert_shows_the_srt_export(shown, page, live_service, clip_id)

        page.keyboard.press("Alt+z")  # and the keyboard undoes it too
        state = page.locator("#save-state")
        expect(state).to_have_text(f"Восстановлена версия {before['revision']}")
        assert _transcript(page, live_service, clip_id)["segments"] == before["segments"]


def test_a_date_is_typed_from_the_keyboard_in_any_locale(
    uploaded_clip: UploadedClip, live_service: str, browser: Browser, artifacts_dir: Path
) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{live_service}/library")
        mine = page.locator(".library-card").filter(has_text=uploaded_clip.title)
        expect(mine).to_have_count(1)
        _tab_to(page, "#lib-from")
        page.keyboard.type("21.11.2026")  # the day after its air date (20.11.2026)
        page.keyboard.press("Enter")
        expect(mine).to_have_count(0)
        expect(page.locator("#library-summary")).to_be_focused()  # on the result...
        _tab_to(page, "#lib-from", "Shift+Tab")  # ...and back to the field
        page.keyboard.press("Control+a")
        page.keyboard.type("20.11.2026")
        page.keyboard.press("Enter")
        expect(mine).to_have_count(1)
        expect(mine).to_contain_text("20.11.2026")
        expect(page.locator("#lib-from")).to_have_value("20.11.2026")
        page.screenshot(path=artifacts_dir / "library-keys-date.png")
    finally:
        context.close()


def test_each_speaker_keeps_one_colour(
    uploaded_clip: UploadedClip, live_service: str, page: Page
) -> None:
    with _editing(page, live_service, uploaded_clip.clip_id):
        colours: dict[str, set[str]] = {}
        for turn in page.locator("#transcript .turn").all():
            colour = turn.evaluate("e => getComputedStyle(e).borderLeftColor")
            colours.setdefault(turn.get_attribute("data-speaker") or "", set()).add(colour)
        assert len(colours) >= 2 and all(len(shades) == 1 for shades in colours.values())
        first = {speaker: shades.pop() for speaker, shades in colours.items()}
        page.reload()
        page.locator("#transcript .turn").first.wait_for()
        again = page.locator("#transcript .turn").first
        speaker = again.get_attribute("data-speaker") or ""
        assert again.evaluate("e => getComputedStyle(e).borderLeftColor") == first[speaker]


def _segment(transcript: dict[str, Any], segment_id: int) -> dict[str, Any]:
    segment: dict[str, Any] = next(s for s in transcript["segments"] if s["id"] == segment_id)
    return segment


def _srt_cues(
    page: Page, base_url: str, clip_id: str, revision: int | None = None
) -> list[tuple[float, float]]:
    """(start, end) of each cue of the SRT export, of the latest revision or ``revision``."""
    url = f"{base_url}/api/v1/transcripts/{clip_id}/export?format=srt"
    srt = page.request.get(f"{url}&revision={revision}" if revision else url)
    assert srt.ok, srt.text()
    cues = pysubs2.SSAFile.from_string(srt.text(), format_="srt")
    return [(cue.start / 1000, cue.end / 1000) for cue in cues]


def test_dragging_a_boundary_retimes_the_srt_in_a_new_revision(
    uploaded_clip: UploadedClip, live_service: str, page: Page, artifacts_dir: Path
) -> None:
    clip_id = uploaded_clip.clip_id
    with _editing(page, live_service, clip_id) as before:
        canvas = page.locator("#waveform-slot canvas")
        expect(canvas).to_be_visible()  # the worker measured the seed cut's peaks
        # A segment whose end ends a subtitle: the cue builder may run a cue on into the
        # next segment of the same speaker, and then the SRT could not show the drag.
        old = _srt_cues(page, live_service, clip_id, before["revision"])
        dragged = next(
            s
            for s in before["segments"]
            if any(abs(end - s["end"]) <= 0.05 for start, end in old if start >= s["start"] - 0.1)
        )
        # Show the segment's end: a click on its last word seeks the player there.
        page.locator(f'.seg-text[data-segment-id="{dragged["id"]}"] .w').last.click()
        page.wait_for_function(
            "() => Number(document.querySelector('#waveform-slot canvas').dataset.viewStart)"
            f" <= {dragged['end']}"
        )
        page.screenshot(path=artifacts_dir / "editor-waveform-1-before.png")
        view_start = float(canvas.get_attribute("data-view-start") or 0)
        span = float(canvas.get_attribute("data-span") or 0)
        box = canvas.bounding_box()
        assert box is not None

        def x_of(seconds: float) -> float:
            return box["x"] + (seconds - view_start) / span * box["width"]

        y = box["y"] + box["height"] / 2
        target = dragged["end"] - 0.6  # the end dragged earlier, onto a frame
        page.mouse.move(x_of(dragged["end"]), y)
        page.mouse.down()
        page.mouse.move(x_of(dragged["end"] - 0.3), y, steps=4)
        page.mouse.move(x_of(target), y, steps=4)
        page.screenshot(path=artifacts_dir / "editor-waveform-2-dragging.png")
        page.mouse.up()
        _saved_as(page, before["revision"] + 1)
        page.screenshot(path=artifacts_dir / "editor-waveform-3-retimed.png")

        after = _segment(_transcript(page, live_service, clip_id), dragged["id"])
        assert after["start"] == dragged["start"]
        assert abs(after["end"] - target) <= 0.04 + span / box["width"]
        assert round(after["end"] * 25, 3) == round(after["end"] * 25)  # on a frame
        assert all(dragged["start"] <= w["end"] <= after["end"] for w in after["words"])
        history = page.request.get(f"{live_service}/api/v1/transcripts/{clip_id}/revisions")
        assert history.json()[0]["revision"] == before["revision"] + 1

        # The segment's last subtitle ended at its old end; now it ends well before it
        # (a cue may still be held a little into the silence after its words).
        def its_cues(cues: list[tuple[float, float]]) -> list[tuple[float, float]]:
            return [c for c in cues if dragged["start"] - 0.1 <= c[0] < dragged["end"]]

        assert max(end for _, end in its_cues(old)) >= dragged["end"] - 0.05
        new = _srt_cues(page, live_service, clip_id)
        assert max(end for _, end in its_cues(new)) <= dragged["end"] - 0.3

        zoom_in = page.get_by_role("button", name="Волна крупнее")
        for _ in range(3):
            zoom_in.click()
        expect(canvas).to_have_attribute("data-span", "3")  # 3 s across: frames show
        page.screenshot(path=artifacts_dir / "editor-waveform-5-frames.png")


def test_a_keyboard_only_session_retimes_a_segment(
    uploaded_clip: UploadedClip, live_service: str, page: Page, artifacts_dir: Path
) -> None:
    clip_id = uploaded_clip.clip_id
    with _editing(page, live_service, clip_id) as before:
        page.keyboard.press("?")
        expect(page.locator("dialog.shortcuts")).to_contain_text("Alt+]")
        page.keyboard.press("Escape")
        page.keyboard.press("Alt+ArrowDown")  # into the first turn
        paragraph = page.locator("#transcript .seg-text").first
        expect(paragraph).to_be_focused()
        first = _segment(before, int(paragraph.get_attribute("data-segment-id") or 0))
        for _ in range(3):
            page.keyboard.press("Alt+BracketRight")  # start three frames later
        for _ in range(2):
            page.keyboard.press("Alt+Shift+BracketLeft")  # end two frames earlier
        _saved_as(page, before["revision"] + 1)  # the nudges make one revision
        expect(page.locator(f'.seg-text[data-segment-id="{first["id"]}"]')).to_be_focused()
        canvas = page.locator("#waveform-slot canvas")
        expect(canvas).to_have_attribute("data-span", "20")  # drawn, at the default zoom
        page.keyboard.press("Alt+Equal")  # the waveform zooms in from the keyboard too
        expect(canvas).to_have_attribute("data-span", "8")
        page.screenshot(path=artifacts_dir / "editor-waveform-4-keyboard.png")
        after = _segment(_transcript(page, live_service, clip_id), first["id"])
        # Each edge goes onto its nearest frame (halves up), then by whole frames.
        start_frame, end_frame = (math.floor(first[e] * 25 + 0.5) for e in ("start", "end"))
        assert after["start"] == pytest.approx((start_frame + 3) / 25, abs=0.001)
        assert after["end"] == pytest.approx((end_frame - 2) / 25, abs=0.001)
        srt = _srt_cues(page, live_service, clip_id)
        assert min(start for start, _ in srt) >= after["start"] - 0.001
