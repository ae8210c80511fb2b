"""The editor's subtitle QC list in headless Chromium against the real service: the seed
cut processed by the real worker, then a revision with a turn no subtitle can show (a
word longer than a line); the editor lists it with its timecode and reason, flags the
turn, and a click plays from the cue."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from playwright.sync_api import Page, expect
from support.browser_support import UploadedClip

from efir.config import Settings
from efir.db import make_engine, make_session_factory
from efir.media.analyses import load_shot_changes
from efir.transcripts.model import Transcript
from efir.transcripts.revisions import latest_revision, save_revision

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LONG_WORD = "Сверхвысокочастотнорадиоэлектроннопромышленный"  # 46 letters


def _break_last_turn(settings: Settings, clip_id: str) -> tuple[int, bool]:
    """A new revision whose last turn ends on a word too long for a line: (its id,
    whether the worker measured the clip's shot changes, which its own task does within
    a minute of the job)."""
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with make_session_factory(engine)() as session:
            transcript = Transcript.from_dict(latest_revision(session, clip_id).data)
            last = transcript.segments[-1]
            broken = replace(last, text=f"{last.text} {LONG_WORD}", words=())
            save_revision(
                session,
                clip_id=clip_id,
                transcript=replace(transcript, segments=(*transcript.segments[:-1], broken)),
                note="too long a word",
            )
            session.commit()
            deadline = time.monotonic() + 60
            while load_shot_changes(session, clip_id) is None and time.monotonic() < deadline:
                time.sleep(0.5)
                session.rollback()  # end the read: the next one sees new rows
            return last.id, load_shot_changes(session, clip_id) is not None
    finally:
        engine.dispose()


def test_editor_lists_broken_cues_and_flags_their_turns(
    uploaded_clip: UploadedClip, live_service: str, live_settings: Settings, page: Page
) -> None:
    clip_id = uploaded_clip.clip_id
    segment_id, shots_stored = _break_last_turn(live_settings, clip_id)
    assert shots_stored, "the worker measures shot changes on every video"

    report = page.request.get(f"{live_service}/api/v1/transcripts/{clip_id}/export/qc").json()
    reasons = [violation["reason_ru"] for violation in report["violations"]]
    assert "строка в 46 зн., допустимо 39" in reasons
    page.goto(f"{live_service}/clips/{clip_id}")
    expect(page.locator("#qc-heading")).to_have_text("Проверка субтитров")
    expect(page.locator("#qc-list button")).to_have_count(len(reasons))
    listed = page.locator("#qc-list button", has_text="строка в 46 зн., допустимо 39")
    expect(listed).to_have_count(1)
    flagged = page.locator(f"#transcript .segment.qc-flag[data-segment-id='{segment_id}']")
    expect(flagged.locator(".qc-note")).to_contain_text("строка в 46 зн.")

    start = float(listed.get_attribute("data-start") or "nan")
    listed.click()
    page.wait_for_function(
        "(at) => Math.abs(document.getElementById('player').currentTime - at) < 0.05", arg=start
    )
    page.locator(".lang-switch button[data-lang=en]").click()
    english = page.locator("#qc-list button", has_text="a line of 46 characters, limit 39")
    expect(english).to_have_count(1)
    expect(page.locator("#qc-heading")).to_have_text("Subtitle QC")
