"""Watch folders through the real `efir watch` process: files dropped at once (one still
being written, one corrupt) end in done/ or failed/ with sidecars and exactly one job
each; a watcher killed mid-way and started again loses and repeats nothing, and with a
real worker writes each finished job's exports next to its file."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pysubs2
import pytest
import redis
from sqlalchemy import select
from support.service_support import (
    REPO_ROOT,
    SettingsFactory,
    cut_seed_audio,
    free_port,
    running_worker,
    session_factory,
    settings_environment,
    stop_process,
)

from efir.config import Settings
from efir.db import Clip, Job
from efir.exports import render
from efir.transcripts.model import Transcript
from efir.transcripts.revisions import latest_revision

# Above the slow writer's one-second pauses, with room for a loaded machine.
SETTLE_S = 3.0
WAIT_S = 120.0


@pytest.fixture
def settings(make_settings: SettingsFactory, redis_url: str, queue_name: str) -> Iterator[Settings]:
    settings = make_settings(redis_url=redis_url, queue_name=queue_name)
    yield settings
    redis.Redis.from_url(redis_url).delete(f"{queue_name}.urgent", f"{queue_name}.bulk")


def start_watcher(
    settings: Settings, inbox: Path, log: Path, *extra: str
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "cli.main", "watch", str(inbox), "--settle", str(SETTLE_S)]
    with log.open("ab") as output:
        return subprocess.Popen(
            [*command, *extra],
            env=settings_environment(settings),
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def wait_for(
    condition: Callable[[], bool], what: str, log: Path, timeout_s: float = WAIT_S
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"{what} not within {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sidecar(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.with_name(path.name + ".json").read_text())
    return data


def media_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix == ".wav")


def clips_and_jobs(settings: Settings) -> list[tuple[str, str]]:
    """(clip sha256, job id) of every job in the database."""
    sessions = session_factory(settings.sqlalchemy_url)
    try:
        with sessions() as session:
            rows = session.execute(select(Clip.sha256, Job.id).join(Job, Job.clip_id == Clip.id))
            return [(row[0], row[1]) for row in rows]
    finally:
        sessions.kw["bind"].dispose()


def test_five_files_at_once_one_still_written_one_corrupt(
    settings: Settings, tmp_path: Path
) -> None:
    inbox, cuts = tmp_path / "inbox", tmp_path / "cuts"
    inbox.mkdir()
    cuts.mkdir()
    ready = [
        cut_seed_audio(cuts / f"cut{n}.wav", start_s=3.0 * n, duration_s=3.0) for n in range(3)
    ]
    slow_source = cut_seed_audio(cuts / "slow.wav", start_s=9.0, duration_s=4.0)
    (inbox / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + b"\x13" * 5000)
    for path in ready:
        (inbox / path.name).write_bytes(path.read_bytes())
    slow = inbox / "slow.wav"
    moved_early: list[float] = []

    def write_slowly() -> None:
        """Ten pieces a second apart: ten seconds of a file growing, as over a network."""
        data = slow_source.read_bytes()
        piece = len(data) // 10 + 1
        with slow.open("wb") as output:
            for start in range(0, len(data), piece):
                if not slow.exists():
                    moved_early.append(time.monotonic())
                output.write(data[start : start + piece])
                output.flush()
                time.sleep(1.0)

    log = tmp_path / "watch.log"
    writer = threading.Thread(target=write_slowly)
    writer.start()
    watcher = start_watcher(settings, inbox, log)
    try:
        writer.join()
        assert moved_early == [], "the growing file was taken before it stopped growing"
        wait_for(lambda: not list(inbox.glob("*.wav")), "the inbox emptied", log)
    finally:
        stop_process(watcher)

    done, failed = media_in(inbox / "done"), media_in(inbox / "failed")
    assert [p.name for p in done] == ["cut0.wav", "cut1.wav", "cut2.wav", "slow.wav"]
    assert [p.name for p in failed] == ["broken.wav"]
    reason = sidecar(failed[0])["error"]
    assert any("а" <= char <= "я" for char in reason.lower()), reason  # Russian
    assert "." in reason and any("a" <= char <= "z" for char in reason.lower())  # and English

    recorded = clips_and_jobs(settings)
    assert len(recorded) == 4, "one clip and one job per good file, no duplicates"
    for path in done:
        side = sidecar(path)
        assert side["state"] == "queued" and side["file"] == path.name
        # The clip holds the file as it ended, so the slow one was taken whole.
        assert (sha256(path), side["job_id"]) in recorded
    assert sha256(inbox / "done" / "slow.wav") == sha256(slow_source)
    queued = redis.Redis.from_url(settings.redis_url or "").llen(settings.queue_name)
    assert queued == 4, "each job sent to the workers once"


@pytest.mark.slow
def test_a_killed_watcher_restarts_without_loss_or_repeat_and_writes_exports(
    settings: Settings, tmp_path: Path
) -> None:
    inbox, cuts = tmp_path / "inbox", tmp_path / "cuts"
    inbox.mkdir()
    cuts.mkdir()
    sources = [
        cut_seed_audio(cuts / f"take{n}.wav", start_s=4.0 + 3.0 * n, duration_s=3.0)
        for n in range(5)
    ]
    for path in sources:
        (inbox / path.name).write_bytes(path.read_bytes())
    log = tmp_path / "watch.log"
    exports = ("--exports", "srt,txt")
    first = start_watcher(settings, inbox, log, *exports)
    try:
        wait_for(lambda: len(media_in(inbox / "done")) >= 1, "a first file taken", log)
    finally:
        first.kill()  # mid-way: no chance to finish what it was doing
        first.wait()
    taken_by_first = len(media_in(inbox / "done"))
    assert taken_by_first < len(sources), "killed too late to be mid-way"
    # The state a kill between recording a job and moving its file leaves: the job is in
    # the database and the file back in the inbox.
    moved_back = media_in(inbox / "done")[0]
    moved_back.rename(inbox / moved_back.name)

    with running_worker(settings, tmp_path / "worker.log"):
        second = start_watcher(settings, inbox, log, *exports)
        try:
            wait_for(
                lambda: (
                    len(media_in(inbox / "done")) == len(sources)
                    and all(sidecar(p)["state"] == "done" for p in media_in(inbox / "done"))
                ),
                "every job done",
                log,
                timeout_s=600,
            )
        finally:
            stop_process(second)

    recorded = clips_and_jobs(settings)
    assert sorted(sha for sha, _ in recorded) == sorted(sha256(p) for p in sources)
    assert not list(inbox.glob("*.wav")) and media_in(inbox / "failed") == []
    sessions = session_factory(settings.sqlalchemy_url)
    for path in media_in(inbox / "done"):
        side = sidecar(path)
        assert (sha256(path), side["job_id"]) in recorded
        assert side["exports"] == [path.with_suffix(".srt").name, path.with_suffix(".txt").name]
        with sessions() as session:
            transcript = Transcript.from_dict(latest_revision(session, side["clip_id"]).data)
        assert path.with_suffix(".srt").read_bytes() == render(transcript, "srt")
        assert path.with_suffix(".txt").read_bytes() == render(transcript, "txt")
        assert pysubs2.load(str(path.with_suffix(".srt"))) is not None
    sessions.kw["bind"].dispose()


def test_efir_serve_watches_the_configured_folders(settings: Settings, tmp_path: Path) -> None:
    """EFIR_WATCH_DIRS: `efir serve` runs the watcher beside the API and stops it with it."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    environment = {
        **settings_environment(settings),
        "EFIR_WATCH_DIRS": str(inbox),
        "EFIR_WATCH_SETTLE_S": "1",
        "EFIR_PORT": str(free_port()),
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        serve = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--no-worker"],
            env=environment,
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        cut = cut_seed_audio(tmp_path / "evening.wav", start_s=5.0, duration_s=3.0)
        cut.rename(inbox / cut.name)
        wait_for(lambda: media_in(inbox / "done") != [], "the dropped file taken", log)
        watcher = [child for child in psutil.Process(serve.pid).children() if "watch" in
                   child.cmdline()]  # fmt: skip
        assert len(watcher) == 1
    finally:
        stop_process(serve)
    assert sidecar(inbox / "done" / "evening.wav")["state"] == "queued"
    assert not watcher[0].is_running(), "the watcher stops with efir serve"


@pytest.mark.slow
def test_a_job_recorded_but_never_sent_is_sent_by_the_next_watcher(
    settings: Settings, tmp_path: Path
) -> None:
    """A watcher stopped between recording a job and sending it leaves a queued job no
    worker will hear of; the next watcher, finding the file again, sends it."""
    from efir.jobs.lifecycle import create_job
    from efir.media.clips import record_clip
    from efir.media.probe import probe_media
    from efir.media.storage import make_storage
    from efir.media.storage.base import file_chunks, store_chunks
    from efir.media.watch import SOURCE

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    take = cut_seed_audio(inbox / "take.wav", start_s=4.0, duration_s=3.0)
    stored = store_chunks(
        make_storage(settings), file_chunks(take), max_bytes=settings.max_upload_bytes
    )
    sessions = session_factory(settings.sqlalchemy_url)
    try:
        with sessions() as session:
            clip = record_clip(
                session, stored=stored, summary=probe_media(take), filename=take.name
            )
            job_id = create_job(session, clip_id=clip.id, options={"source": SOURCE}).id
    finally:
        sessions.kw["bind"].dispose()

    log = tmp_path / "watch.log"
    with running_worker(settings, tmp_path / "worker.log"):
        watcher = start_watcher(settings, inbox, log)
        try:
            done = inbox / "done" / take.name
            wait_for(
                lambda: done.exists() and sidecar(done)["state"] == "done", "the job done", log
            )
        finally:
            watcher.terminate()
            watcher.wait()
    assert sidecar(done)["job_id"] == job_id
    assert clips_and_jobs(settings) == [(stored.sha256, job_id)]
