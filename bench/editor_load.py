"""How fast the editor opens a 60-minute programme: seconds from navigation until the
whole transcript is on the page and a click on its last word moves the player there.

A 60-minute synthetic news transcript (600 segments, ~10,000 timed words, from
bench/news_text.py) is saved with 60 minutes of silent MP3 as its media and waveform
peaks of as many minutes of noise (360,000 buckets, as the worker stores); a local-mode API
serves it and headless Chromium (Debian's) opens the editor --runs times. With
--baseline REF the web UI of that commit (its api/static) is served in turns with the
current one, one run each, so both face the same load.

    .venv/bin/python bench/editor_load.py --runs 5 --baseline 5647d96
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from news_text import NewsWriter  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from starlette.routing import Mount  # noqa: E402
from starlette.staticfiles import StaticFiles  # noqa: E402
from support.browser_support import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from support.service_support import running_api, session_factory  # noqa: E402

from api.routes import ui  # noqa: E402
from efir.config import Settings  # noqa: E402
from efir.jobs.lifecycle import claim_job, create_job, finish_job  # noqa: E402
from efir.media.analyses import PEAKS, save_analysis  # noqa: E402
from efir.media.clips import record_clip  # noqa: E402
from efir.media.probe import probe_media  # noqa: E402
from efir.media.storage import make_storage  # noqa: E402
from efir.media.storage.base import file_chunks  # noqa: E402
from efir.transcripts.model import Segment, Word  # noqa: E402
from efir.transcripts.revisions import save_job_output  # noqa: E402
from worker.stages.media import SAMPLE_RATE  # noqa: E402
from worker.stages.peaks import waveform_peaks  # noqa: E402

MINUTES = 60
SEGMENTS = MINUTES * 10  # one every 6 s, as news_text writes them


def timed_words(segment: Segment) -> Segment:
    """Spread the segment's words evenly over it, as the ASR would time them."""
    tokens = segment.text.split()
    step = (segment.end - segment.start) / len(tokens)
    words = tuple(
        Word(round(segment.start + i * step, 3), round(segment.start + (i + 1) * step, 3), w, 0.9)
        for i, w in enumerate(tokens)
    )
    return replace(segment, words=words)


def noise_peaks() -> dict[str, Any]:
    """Peaks of MINUTES of noise, each minute at its own loudness: the size the worker
    stores for a real programme (mostly three-digit values)."""
    rng = np.random.default_rng(7)
    minutes = (
        (rng.uniform(-1, 1, 60 * SAMPLE_RATE) * rng.uniform(0.05, 0.8)).astype(np.float32)
        for _ in range(MINUTES)
    )
    return waveform_peaks(minutes)


def programme(settings: Settings, workdir: Path) -> str:
    """A stored 60-minute clip with its transcript; returns the clip id."""
    media = workdir / "silence.mp3"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
         "-t", str(MINUTES * 60), "-b:a", "16k", str(media)],
        check=True,
    )  # fmt: skip
    _, transcript = NewsWriter(seed=7).clip(1, SEGMENTS)
    transcript = replace(transcript, segments=tuple(map(timed_words, transcript.segments)))
    stored = make_storage(settings).put_stream(file_chunks(media), max_bytes=10**9)
    with session_factory(settings.sqlalchemy_url)() as session:
        clip = record_clip(
            session, stored=stored, summary=probe_media(media), filename=media.name,
            title="Часовой выпуск",
        )  # fmt: skip
        job = create_job(session, clip_id=clip.id)
        claim_job(session, job.id)
        save_job_output(session, clip_id=clip.id, job_id=job.id, transcript=transcript)
        save_analysis(session, clip.id, PEAKS, noise_peaks())
        finish_job(session, job.id)
        words = sum(len(s.words) for s in transcript.segments)
        print(f"programme: {MINUTES} min, {len(transcript.segments)} segments, {words} words")
        return clip.id


def checkout_static(ref: str, workdir: Path) -> Path:
    """The web UI (api/static) as it was at commit ``ref``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "api/static"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(workdir / ref, filter="data")
    return workdir / ref / "api" / "static"


def serve_static(directory: Path) -> None:
    """Point the running app's pages and /static at ``directory``."""
    ui.STATIC_DIR = directory
    # The one StaticFiles instance is changed in place: the app holds its own copies of
    # the router's routes, made at the first request, around this same instance.
    mount = next(route for route in ui.router.routes if isinstance(route, Mount))
    static = mount.app
    assert isinstance(static, StaticFiles)
    static.directory = directory
    static.all_directories = static.get_directories(directory, None)


@dataclass(frozen=True)
class Timing:
    shown: float  # s from navigation to the whole transcript on the page, player ready
    interactive: float  # s until a click on the last word has moved the player there
    busy: float  # s the page's main thread worked until then (CDP TaskDuration): the
    # part of the wait that is the page's own, whatever else the machine is doing


def open_editor(base_url: str, clip_id: str) -> Timing:
    """Open the editor and click the last word. The last segment is scrolled to first,
    as an editor would: the page may fill its words only then."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="ru-RU")
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        started = time.perf_counter()
        page.goto(f"{base_url}/clips/{clip_id}")
        page.wait_for_function(
            f"() => document.querySelectorAll('#transcript .seg-text').length === {SEGMENTS}"
            " && document.getElementById('player')?.readyState >= 1",
            polling=50,
            timeout=60_000,
        )
        shown = time.perf_counter() - started
        page.locator("#transcript .seg-text").last.scroll_into_view_if_needed()
        last = page.locator("#transcript .seg-text").last.locator(".w").last
        target = float(last.get_attribute("data-start") or 0)
        last.click()
        page.wait_for_function(
            f"() => Math.abs(document.getElementById('player').currentTime - {target}) < 0.5",
            polling=50,
        )
        interactive = time.perf_counter() - started
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        browser.close()
    return Timing(shown, interactive, metrics["TaskDuration"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", help="also time the web UI of this commit, interleaved")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        settings = Settings(data_dir=workdir / "data", database_url=None, cpu_threads=1)
        clip_id = programme(settings, workdir)
        uis = {"current": ui.STATIC_DIR}
        if args.baseline:
            uis = {args.baseline: checkout_static(args.baseline, workdir), **uis}
        runs: dict[str, list[Timing]] = {name: [] for name in uis}
        with running_api(settings) as base_url:
            for _ in range(args.runs):
                for name, directory in uis.items():
                    serve_static(directory)
                    runs[name].append(open_editor(base_url, clip_id))
    for name, timings in runs.items():
        print(f"{name}:")
        for run in timings:
            print(
                f"  shown {run.shown:.2f} s, last word played {run.interactive:.2f} s,"
                f" page busy {run.busy:.2f} s"
            )
        shown, interactive, busy = (
            statistics.median(getattr(r, field) for r in timings)
            for field in ("shown", "interactive", "busy")
        )
        print(
            f"  median of {len(timings)}: shown {shown:.2f} s, interactive {interactive:.2f} s"
            f" (target <= 2 s), page busy {busy:.2f} s"
        )


if __name__ == "__main__":
    main()
