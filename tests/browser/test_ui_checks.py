"""The editor's "check who speaks" flags in headless Chromium against the real service.

The speaker stage flags a named segment no caption was seen over when it is unsure of
the voice (`"check": true`). The 25 s seed cut has no such segment, so the test first
saves a revision as that stage writes one when unsure (the last segment under a name,
decided by voice at 0.90), then drives the editor like a newsroom editor would.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from support.browser_support import UploadedClip

from efir.config import Settings
from efir.db import make_engine, make_session_factory
from efir.exports.text import CHECK_MARK
from efir.transcripts.model import SpeakerSource, Transcript
from efir.transcripts.revisions import latest_revision, save_revision

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _flag_last_segment(settings: Settings, clip_id: str) -> int:
    """A new revision whose last segment is an unsure named attribution; its id."""
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with make_session_factory(engine)() as session:
            transcript = Transcript.from_dict(latest_revision(session, clip_id).data)
            last = transcript.segments[-1]
            speakers = tuple(
                # No title: another test file may have given this shared clip's speaker one.
                replace(s, name="Дана ПРОВЕРКИНА", title=None) if s.id == last.speaker else s
                for s in transcript.speakers
            )
            flagged = replace(
                last, speaker_source=SpeakerSource.VOICE, speaker_confidence=0.9, check=True
            )
            segments = (*transcript.segments[:-1], flagged)
            save_revision(
                session,
                clip_id=clip_id,
                transcript=replace(transcript, speakers=speakers, segments=segments),
                note="speaker stage, unsure",
            )
            session.commit()
            return last.id
    finally:
        engine.dispose()


def test_flagged_turn_is_listed_and_confirming_it_clears_the_flag(
    uploaded_clip: UploadedClip,
    live_service: str,
    live_settings: Settings,
    page: Page,
    artifacts_dir: Path,
) -> None:
    clip_id = uploaded_clip.clip_id
    segment_id = _flag_last_segment(live_settings, clip_id)
    export = f"{live_service}/api/v1/transcripts/{clip_id}/export?format=txt&mark_checks=true"
    assert f"{CHECK_MARK} Дана ПРОВЕРКИНА:" in page.request.get(export).text()

    page.goto(f"{live_service}/clips/{clip_id}")
    flagged = page.locator("#transcript .segment.needs-check")
    expect(flagged).to_have_count(1)
    expect(flagged).to_have_attribute("data-segment-id", str(segment_id))
    expect(flagged.locator(".check-flag")).to_have_text("проверить имя")
    listed = page.locator("#check-list button")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("Дана ПРОВЕРКИНА")
    page.screenshot(path=artifacts_dir / "editor-check-1-flagged.png")

    listed.click()  # jumps to the turn and puts the focus on its confirm button
    confirm = flagged.locator("button[data-action=confirm]")
    expect(confirm).to_be_focused()
    confirm.click()
    expect(page.locator("#transcript .segment.needs-check")).to_have_count(0)
    expect(page.locator("#check-list")).to_contain_text("Все имена подтверждены")
    page.screenshot(path=artifacts_dir / "editor-check-2-confirmed.png")

    saved = page.request.get(f"{live_service}/api/v1/transcripts/{clip_id}").json()
    segment = next(s for s in saved["segments"] if s["id"] == segment_id)
    assert "check" not in segment and segment["speaker_source"] == "editor"
    assert CHECK_MARK not in page.request.get(export).text()
