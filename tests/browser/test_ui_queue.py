"""The queue controls and the resumable upload in the browser: a clip sent in small
chunks through a connection that drops once, marked «Срочно», cancelled, retried."""

from __future__ import annotations

import hashlib
from pathlib import Path

from playwright.sync_api import Page, Route, expect
from support.browser_support import with_other_bytes

CHUNK_BYTES = 64 * 1024


def test_chunked_urgent_upload_survives_a_drop_then_cancel_and_retry(
    live_service: str, page: Page, browser_clip_media: Path, artifacts_dir: Path, tmp_path: Path
) -> None:
    media = with_other_bytes(browser_clip_media, tmp_path / "urgent.mp4")
    chunks: list[str] = []

    def drop_the_second_chunk(route: Route) -> None:
        if route.request.method == "PATCH":
            chunks.append(route.request.headers.get("content-range", ""))
            if len(chunks) == 2:
                route.abort("connectionreset")
                return
        route.continue_()

    page.route("**/api/v1/uploads/*", drop_the_second_chunk)
    page.goto(f"{live_service}/")
    # Small chunks make this short cut take the resumable path the UI uses over 8 MB.
    page.locator("#upload-form").evaluate(
        f"(form) => {{ form.dataset.chunkBytes = '{CHUNK_BYTES}'; }}"
    )
    title = "Срочный сюжет по частям"
    page.set_input_files("#file-input", str(media))
    page.fill("#meta-title", title)
    page.get_by_label("Срочно").check()
    page.get_by_label("Точнее: прочитать трижды").check()
    page.click("#upload-submit")

    row = page.locator("#job-list .job").filter(has_text=title).first
    expect(row).to_be_visible(timeout=60_000)
    page.screenshot(path=artifacts_dir / "queue-1-urgent-uploaded.png")
    size = media.stat().st_size
    assert len(chunks) >= size // CHUNK_BYTES + 1  # every chunk, plus the one resent
    assert chunks[2] == chunks[1]  # the dropped chunk was sent again from the same offset
    job_id = row.get_attribute("data-job-id")
    job = page.request.get(f"{live_service}/api/v1/jobs/{job_id}").json()
    assert job["priority"] == "urgent"
    assert job["readings"] == 3
    # The row says so: such a job takes three times as long.
    expect(row.locator(".job-readings")).to_have_text("прочтений: 3")
    clip = page.request.get(f"{live_service}/api/v1/clips/{job['clip_id']}").json()
    assert clip["sha256"] == hashlib.sha256(media.read_bytes()).hexdigest()
    expect(row.get_by_role("button", name=f"Срочно: {title}")).to_have_attribute(
        "aria-pressed", "true"
    )

    row.get_by_role("button", name=f"Отменить: {title}").click()
    expect(row.locator(".job-state")).to_have_text("Отменено")
    page.screenshot(path=artifacts_dir / "queue-2-cancelled.png")
    row.get_by_role("button", name=f"Повторить: {title}").click()
    expect(row.get_by_role("button", name=f"Отменить: {title}")).to_be_visible()
    assert page.request.get(f"{live_service}/api/v1/jobs/{job_id}").json()["state"] != "cancelled"
    page.screenshot(path=artifacts_dir / "queue-3-retried.png")
    # Cancelled again, so the shared worker does not spend its time on this clip.
    row.get_by_role("button", name=f"Отменить: {title}").click()
    expect(row.locator(".job-state")).to_have_text("Отменено", timeout=60_000)
    final = page.request.get(f"{live_service}/api/v1/jobs/{job_id}").json()
    assert final["state"] == "cancelled"
