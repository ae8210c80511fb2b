"""End to end through the real parts: HTTP upload → Redis → Celery worker process →
faster-whisper → database → transcript over HTTP, on SQLite and on PostgreSQL; a worker
killed mid-job; the whole seed clip; and `efir serve` with its embedded Redis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from scoring import cer, wer
from service_support import (
    SEED_DIR,
    SettingsFactory,
    cut_seed,
    free_port,
    running_api,
    running_worker,
    session_factory,
    settings_environment,
    stop_process,
)

from efir.jobs import get_job
from efir.transcript import Transcript
from efir.transcripts_store import list_revisions

pytestmark = pytest.mark.slow

JOB_TIMEOUT_S = 900.0
TRUTH = json.loads((SEED_DIR / "seed.truth.json").read_text(encoding="utf-8"))
# The cut ends between the anchor's opening turn (3.1–20.5 s) and the correspondent's.
CUT_S = 21.0


def truth_text(start_s: float, end_s: float) -> str:
    turns = [t for t in TRUTH["turns"] if t["start"] >= start_s and t["end"] <= end_s]
    return " ".join(turn["text"] for turn in turns)


@pytest.fixture(scope="module")
def anchor_cut(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cut_seed(tmp_path_factory.mktemp("e2e") / "anchor.mp4", start_s=0, duration_s=CUT_S)


def upload(client: httpx.Client, path: Path, **fields: str) -> dict[str, Any]:
    with path.open("rb") as media:
        response = client.post("/api/v1/clips", files={"file": (path.name, media)}, data=fields)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


def wait_for_job(
    client: httpx.Client, job_id: str, *, seen: list[str] | None = None
) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").json()
        if seen is not None and (not seen or seen[-1] != job["state"]):
            seen.append(job["state"])
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish in {JOB_TIMEOUT_S} s")


def assert_sane_transcript(payload: dict[str, Any], *, duration_s: float) -> Transcript:
    transcript = Transcript.from_dict(payload)
    assert transcript.language == "ru"
    assert abs(transcript.duration - duration_s) < 1.0
    assert transcript.segments
    for segment in transcript.segments:
        assert 0.0 <= segment.start < segment.end <= duration_s + 0.5
        assert segment.text.strip()
        assert segment.words, f"segment {segment.id} has no word timestamps"
        assert all(
            segment.start - 0.5 <= w.start <= w.end <= segment.end + 0.5 for w in segment.words
        )
    return transcript


def test_upload_goes_through_queue_and_worker_to_a_transcript(
    database_url: str,
    make_settings: SettingsFactory,
    redis_url: str,
    queue_name: str,
    anchor_cut: Path,
    tmp_path: Path,
) -> None:
    settings = make_settings(database_url=database_url, redis_url=redis_url, queue_name=queue_name)
    seen: list[str] = []
    with (
        running_api(settings) as base_url,
        httpx.Client(base_url=base_url, timeout=60) as client,
        running_worker(settings, tmp_path / "worker.log"),
    ):
        job = upload(client, anchor_cut, title="Вечерние новости", glossary="Костанай")
        started = time.monotonic()
        finished = wait_for_job(client, job["id"], seen=seen)
        elapsed_s = time.monotonic() - started
        assert finished["state"] == "done", finished["error"]
        assert finished["progress"] == 1.0
        payload = client.get(f"/api/v1/transcripts/{job['clip_id']}").json()
        srt = client.get(f"/api/v1/transcripts/{job['clip_id']}/export?format=srt")
    assert payload["revision"] == 1 and payload["clip_id"] == job["clip_id"]
    transcript = assert_sane_transcript(payload, duration_s=CUT_S)
    reference = truth_text(0, CUT_S)
    print(
        f"\n{database_url.split(':')[0]}: {CUT_S:.0f} s clip done in {elapsed_s:.1f} s; "
        f"WER {wer(reference, transcript.text):.3f} CER {cer(reference, transcript.text):.3f}; "
        f"states seen {seen}"
    )
    assert wer(reference, transcript.text) <= 0.45
    assert "костана" in transcript.text.lower()
    assert srt.status_code == 200 and " --> " in srt.text
    assert seen[-1] == "done" and set(seen) <= {
        "queued",
        "decoding",
        "transcribing",
        "speakers",
        "indexing",
        "done",
    }


def test_a_job_survives_its_worker_being_killed(
    make_settings: SettingsFactory,
    redis_url: str,
    queue_name: str,
    anchor_cut: Path,
    tmp_path: Path,
) -> None:
    """acks_late + reject_on_worker_lost: the killed child's job is run again, not lost."""
    settings = make_settings(redis_url=redis_url, queue_name=queue_name)
    with (
        running_api(settings) as base_url,
        httpx.Client(base_url=base_url, timeout=60) as client,
        running_worker(settings, tmp_path / "worker.log") as worker,
    ):
        job = upload(client, anchor_cut)
        deadline = time.monotonic() + JOB_TIMEOUT_S
        while client.get(f"/api/v1/jobs/{job['id']}").json()["state"] == "queued":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        children = _child_pids(worker.pid)
        assert children, "prefork worker has no child process"
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        finished = wait_for_job(client, job["id"])
    assert finished["state"] == "done", finished["error"]
    with session_factory(settings.sqlalchemy_url)() as session:
        assert get_job(session, job["id"]).attempts == 2
        assert [r.revision for r in list_revisions(session, job["clip_id"])] == [1]


def test_the_whole_seed_broadcast(
    make_settings: SettingsFactory, redis_url: str, queue_name: str, tmp_path: Path
) -> None:
    settings = make_settings(redis_url=redis_url, queue_name=queue_name)
    glossary = (SEED_DIR / "seed.glossary").read_text(encoding="utf-8")
    with (
        running_api(settings) as base_url,
        httpx.Client(base_url=base_url, timeout=60) as client,
        running_worker(settings, tmp_path / "worker.log"),
    ):
        job = upload(client, SEED_DIR / "seed.mp4", glossary=glossary)
        started = time.monotonic()
        finished = wait_for_job(client, job["id"])
        elapsed_s = time.monotonic() - started
        assert finished["state"] == "done", finished["error"]
        payload = client.get(f"/api/v1/transcripts/{job['clip_id']}").json()
    transcript = assert_sane_transcript(payload, duration_s=146.1)
    reference = truth_text(0, 1e9)
    print(
        f"\nseed.mp4 (146 s) done in {elapsed_s:.1f} s (RTF {elapsed_s / 146.1:.2f}); "
        f"WER {wer(reference, transcript.text):.3f} CER {cer(reference, transcript.text):.3f}; "
        f"{len(transcript.segments)} segments, {len(transcript.speakers)} speakers"
    )
    # Generous bounds: the ASR tests hold the pipeline to the targets.
    assert wer(reference, transcript.text) <= 0.35
    assert cer(reference, transcript.text) <= 0.15
    assert len(transcript.speakers) >= 2


def test_efir_serve_with_embedded_redis(
    make_settings: SettingsFactory, anchor_cut: Path, tmp_path: Path
) -> None:
    """`efir serve` with no EFIR_REDIS_URL: API + worker child + valkey, then a clean stop."""
    settings = make_settings(data_dir=tmp_path / "serve-data", database_url=None)
    port = free_port()
    environment = settings_environment(settings)
    environment.pop("EFIR_DATABASE_URL")
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        serve = subprocess.Popen(
            [sys.executable, "-m", "efir.cli", "serve", "--port", str(port)],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_up(base_url, serve, log_path)
        with httpx.Client(base_url=base_url, timeout=60) as client:
            job = upload(client, anchor_cut)
            finished = wait_for_job(client, job["id"])
            assert finished["state"] == "done", finished["error"] or log_path.read_text()[-3000:]
            payload = client.get(f"/api/v1/transcripts/{job['clip_id']}").json()
        assert_sane_transcript(payload, duration_s=CUT_S)
        assert (settings.data_dir / "efir.sqlite3").is_file()
        assert (settings.data_dir / "redis").is_dir()
        family = _descendant_pids(serve.pid)
        assert len(family) >= 2  # the worker and valkey at least
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            assert serve.wait(timeout=60) == 0
        finally:
            stop_process(serve)
    time.sleep(1)
    leftovers = [pid for pid in family if Path(f"/proc/{pid}").exists() and not _is_zombie(pid)]
    assert leftovers == [], f"children left running: {leftovers}"


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, log_path.read_text(errors="replace")[-4000:]
        try:
            if httpx.get(f"{base_url}/api/v1/jobs", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"efir serve did not come up:\n{log_path.read_text()[-4000:]}")


def _child_pids(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        children.extend(int(child) for child in text)
    return children


def _descendant_pids(pid: int) -> list[int]:
    found = []
    pending = [pid]
    while pending:
        for child in _child_pids(pending.pop()):
            found.append(child)
            pending.append(child)
    return found


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return False
