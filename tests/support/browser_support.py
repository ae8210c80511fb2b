"""What the browser fixtures and flows share: where things are, how Chromium is
launched, and the upload flow itself (the other flows need a processed clip first)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, expect

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts" / "browser"
SEED_DIR = REPO_ROOT / "fixtures" / "seed"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The anchor's opening turn, which names Костанай, fits in the first 25 s.
CUT_SECONDS = 25
# Whisper base on one contended CPU thread, plus speakers and captions, for that cut.
PROCESSING_TIMEOUT_S = 600


@dataclass(frozen=True)
class UploadedClip:
    clip_id: str
    job_id: str
    title: str
    final_state: str
    error: str | None


def with_other_bytes(media: Path, into: Path) -> Path:
    """A copy of ``media`` under another title tag, so other bytes: the UI refuses a file
    already in the archive."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(media), "-c", "copy",
         "-metadata", f"title={into.stem}", str(into)],
        check=True,
    )  # fmt: skip
    return into


def upload_through_ui(
    page: Page, base_url: str, media: Path, *, title: str, artifacts: Path
) -> UploadedClip:
    """Drive the upload page as a user would and wait until the job ends."""
    page.goto(f"{base_url}/")
    page.set_input_files("#file-input", str(media))
    page.fill("#meta-title", title)
    page.fill("#meta-programme", "Новости")
    page.fill("#meta-air-date", "20.11.2026")  # typed the Russian way, whatever the locale
    page.fill("#meta-glossary", (SEED_DIR / "seed.glossary").read_text(encoding="utf-8"))
    page.screenshot(path=artifacts / "upload-1-selected.png")
    page.click("#upload-submit")
    job_row = page.locator("#job-list .job").filter(has_text=title).first
    expect(job_row).to_be_visible()
    page.screenshot(path=artifacts / "upload-2-queued.png")
    ended = ":is([data-state=done], [data-state=failed], [data-state=cancelled])"
    page.locator(f"#job-list .job{ended}").filter(has_text=title).first.wait_for(
        timeout=PROCESSING_TIMEOUT_S * 1000
    )
    page.screenshot(path=artifacts / "upload-3-finished.png")
    job_id = job_row.get_attribute("data-job-id")
    assert job_id
    job = page.request.get(f"{base_url}/api/v1/jobs/{job_id}").json()
    return UploadedClip(
        clip_id=job["clip_id"],
        job_id=job_id,
        title=title,
        final_state=job_row.get_attribute("data-state") or "",
        error=job["error"],
    )


def truth_word_times(stem: str) -> list[float]:
    """When the seed's speakers begin a word starting with ``stem``, inside the cut."""
    truth = json.loads((SEED_DIR / "seed.truth.json").read_text(encoding="utf-8"))
    return [
        word["start"]
        for turn in truth["turns"]
        for word in turn["tts_words"]
        if word["token"].lower().startswith(stem) and word["start"] < CUT_SECONDS
    ]
