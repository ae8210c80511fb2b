"""S3 storage end to end, on moto's S3 server over HTTP: multipart uploads, the API
serving media from the bucket with Range, and a worker on its own disk transcribing
an upload it only ever sees through the bucket."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from support.s3_support import S3_TEST_CREDENTIALS
from support.service_support import (
    SettingsFactory,
    cut_seed,
    free_port,
    running_api,
    running_worker,
    session_factory,
)

from efir.db import Clip, JobState
from efir.jobs.lifecycle import create_job, get_job
from efir.jobs.queue import enqueue_job, make_celery
from efir.media.storage import make_storage
from efir.media.storage.base import StorageUnavailableError, media_key
from efir.media.storage.s3 import S3Storage

JOB_TIMEOUT_S = 240.0
CUT_S = 8.0


def test_large_media_goes_up_in_parts_and_reads_back_by_range(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    part_bytes = 5 * 1024**2  # S3's smallest part
    storage = S3Storage(
        client,
        s3_bucket,
        staging_dir=tmp_path / "incoming",
        copies_dir=tmp_path / "copies",
        transfer=TransferConfig(multipart_threshold=part_bytes, multipart_chunksize=part_bytes),
    )
    media = os.urandom(2 * part_bytes + 12345)
    chunks = (media[offset : offset + 65536] for offset in range(0, len(media), 65536))
    stored = storage.put_stream(chunks, max_bytes=len(media))
    assert stored.sha256 == hashlib.sha256(media).hexdigest()
    head = client.head_object(Bucket=s3_bucket, Key=f"media/{stored.sha256}")
    assert head["ContentLength"] == len(media)
    assert head["ETag"].strip('"').endswith("-3")  # a multipart upload of three parts
    with storage.open(stored.key) as reader:
        reader.seek(part_bytes + 7)
        assert reader.read(100) == media[part_bytes + 7 : part_bytes + 107]
        reader.seek(-10, os.SEEK_END)
        assert reader.read() == media[-10:]


def test_an_unreachable_store_is_an_error_worth_retrying(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in S3_TEST_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    nobody_listens = f"http://127.0.0.1:{free_port()}"
    storage = make_storage(make_settings(storage="s3", s3_endpoint_url=nobody_listens))
    with pytest.raises(StorageUnavailableError):
        storage.put_stream([b"bytes"], max_bytes=100)
    with pytest.raises(StorageUnavailableError), storage.local_copy(media_key("0" * 64)):
        pass
    assert isinstance(storage, S3Storage) and list(storage.staging_dir.iterdir()) == []


def test_a_worker_retries_a_job_while_the_store_is_down(
    make_settings: SettingsFactory,
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    queue_name: str,
    tmp_path: Path,
) -> None:
    for name, value in S3_TEST_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    settings = make_settings(
        storage="s3",
        s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
        redis_url=redis_url,
        queue_name=queue_name,
    )
    sessions = session_factory(settings.sqlalchemy_url)
    with sessions() as session:
        clip = Clip(
            sha256="0" * 64, original_filename="a.wav", media_key=media_key("0" * 64), size_bytes=1
        )
        session.add(clip)
        session.flush()
        job_id = create_job(session, clip_id=clip.id).id
    enqueue_job(make_celery(settings), settings, job_id)
    with running_worker(settings, tmp_path / "worker.log"):
        deadline = time.monotonic() + 60
        while True:
            with sessions() as session:
                job = get_job(session, job_id)
            if job.attempts >= 1 and job.state is JobState.QUEUED:
                break  # requeued for a retry, not failed: the store may be back by then
            assert not job.state.is_terminal, job.error
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.2)
    assert job.error is not None and "S3 storage is unreachable" in job.error


def test_an_upload_while_the_store_is_down_is_refused_with_503(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in S3_TEST_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    settings = make_settings(storage="s3", s3_endpoint_url=f"http://127.0.0.1:{free_port()}")
    with running_api(settings) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        response = client.post("/api/v1/clips", files={"file": ("tone.wav", _wav_of(bytes(32000)))})
        health = client.get("/api/v1/health")
    assert response.status_code == 503, response.text
    assert "Media storage is unavailable" in response.json()["detail"]
    assert health.status_code == 503 and "bucket" in health.json()["failing"]
    assert [path for path in settings.data_dir.rglob("*") if path.is_file()] == []


def test_api_serves_media_from_the_bucket_with_ranges(
    make_settings: SettingsFactory,
    s3_endpoint: str,
    s3_bucket: str,
    redis_url: str,
    queue_name: str,
) -> None:
    settings = make_settings(
        storage="s3",
        s3_endpoint_url=s3_endpoint,
        s3_bucket=s3_bucket,
        redis_url=redis_url,
        queue_name=queue_name,
    )
    media = os.urandom(300_000)
    with running_api(settings) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        # Not decodable, so refused after staging: nothing may reach the bucket.
        refused = client.post("/api/v1/clips", files={"file": ("noise.wav", media)})
        assert refused.status_code == 422, refused.text
        assert list(S3Storage.from_settings(settings).keys()) == []

        wav = _wav_of(media)
        # The name says page; the probed container says WAV, and that is what is sent.
        job = client.post("/api/v1/clips", files={"file": ("tone.html", wav)}).json()
        url = f"/api/v1/clips/{job['clip_id']}/media"
        whole = client.get(url)
        part = client.get(url, headers={"Range": "bytes=1000-1999"})
        tail = client.get(url, headers={"Range": "bytes=-16"})
        beyond = client.get(url, headers={"Range": f"bytes={len(wav)}-"})
        health = client.get("/api/v1/health").json()
    assert whole.status_code == 200 and whole.content == wav
    assert whole.headers["accept-ranges"] == "bytes"
    for response in (whole, part, beyond):
        assert response.headers["content-security-policy"] == "sandbox"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert whole.headers["content-type"] == part.headers["content-type"] == "audio/wav"
    assert part.status_code == 206 and part.content == wav[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(wav)}"
    assert tail.status_code == 206 and tail.content == wav[-16:]
    assert beyond.status_code == 416
    assert health["checks"]["bucket"]["status"] == "ok", health
    assert health["checks"]["storage"]["path"] == str(settings.data_dir / "incoming")
    kept = [path for path in settings.data_dir.rglob("*") if path.is_file()]
    assert kept == []  # the API kept nothing on its own disk


@pytest.mark.slow
def test_a_worker_on_another_disk_transcribes_an_upload_from_the_bucket(
    make_settings: SettingsFactory,
    s3_endpoint: str,
    s3_bucket: str,
    redis_url: str,
    queue_name: str,
    tmp_path: Path,
) -> None:
    api_settings = make_settings(
        storage="s3",
        s3_endpoint_url=s3_endpoint,
        s3_bucket=s3_bucket,
        redis_url=redis_url,
        queue_name=queue_name,
        data_dir=tmp_path / "api-host",
    )
    # Same database, broker and bucket; a data directory the API never wrote to.
    worker_settings = api_settings.model_copy(update={"data_dir": tmp_path / "worker-host"})
    clip = cut_seed(tmp_path / "anchor.mp4", start_s=0, duration_s=CUT_S)
    with (
        running_api(api_settings) as base_url,
        httpx.Client(base_url=base_url, timeout=60) as client,
        running_worker(worker_settings, tmp_path / "worker.log"),
    ):
        with clip.open("rb") as media:
            job = client.post("/api/v1/clips", files={"file": (clip.name, media)}).json()
        finished = _wait_for_job(client, job["id"])
        transcript = client.get(f"/api/v1/transcripts/{job['clip_id']}").json()
    assert finished["state"] == "done", (finished["error"], (tmp_path / "worker.log").read_text())
    words = " ".join(segment["text"] for segment in transcript["segments"]).split()
    assert len(words) >= 5, transcript
    sha256 = hashlib.sha256(clip.read_bytes()).hexdigest()
    assert list(S3Storage.from_settings(api_settings).keys()) == [f"{sha256[:2]}/{sha256}"]
    for host in ("api-host", "worker-host"):
        leftovers = [path for path in (tmp_path / host).rglob("*") if path.is_file()]
        assert leftovers == [], leftovers


def _wav_of(samples: bytes) -> bytes:
    """``samples`` as 16-bit mono 16 kHz PCM in a WAV container (noise, but decodable)."""
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(samples)
    return buffer.getvalue()


def _wait_for_job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish in {JOB_TIMEOUT_S} s")
