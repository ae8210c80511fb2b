"""Resumable uploads against the live API: chunks, a connection dropped mid-chunk,
resuming from the server's offset, refusals with clear messages, expiry."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from support.service_support import SettingsFactory, cut_seed, running_api, session_factory

from efir.config import Settings
from efir.db import Clip, Job
from efir.jobs.lifecycle import JobPriority, job_priority
from efir.jobs.queue import live_job_ids
from efir.media.staging import ResumableUploads

MAX_UPLOAD_BYTES = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return cut_seed(
        tmp_path_factory.mktemp("cut") / "cut.mp4", start_s=10, duration_s=3
    ).read_bytes()


@pytest.fixture
def live(
    make_settings: SettingsFactory, redis_url: str, queue_name: str
) -> Iterator[tuple[httpx.Client, Settings]]:
    settings = make_settings(
        redis_url=redis_url, queue_name=queue_name, max_upload_bytes=MAX_UPLOAD_BYTES
    )
    with running_api(settings) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        yield client, settings
    redis.Redis.from_url(redis_url).delete(f"{queue_name}.urgent")


def _start(client: httpx.Client, size: int, **metadata: str) -> str:
    response = client.post(
        "/api/v1/uploads", json={"filename": "срочно.mp4", "size": size, "metadata": metadata}
    )
    assert response.status_code == 201, response.text
    assert response.headers["Location"].endswith(response.json()["id"])
    upload_id: str = response.json()["id"]
    return upload_id


def _patch(
    client: httpx.Client, upload_id: str, data: bytes, start: int, total: int
) -> httpx.Response:
    return client.patch(
        f"/api/v1/uploads/{upload_id}",
        content=data,
        headers={"Content-Range": f"bytes {start}-{start + len(data) - 1}/{total}"},
    )


def _offset(client: httpx.Client, upload_id: str) -> int:
    response = client.head(f"/api/v1/uploads/{upload_id}")
    assert response.status_code == 200
    return int(response.headers["Upload-Offset"])


def _drop_mid_chunk(base_url: str, upload_id: str, data: bytes, start: int, total: int) -> None:
    """Announce a whole chunk, send half of it, and cut the connection."""
    url = urlsplit(base_url)
    end = start + len(data) - 1
    head = (
        f"PATCH /api/v1/uploads/{upload_id} HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Content-Range: bytes {start}-{end}/{total}\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    with socket.create_connection((url.hostname, url.port)) as connection:
        connection.sendall(head.encode() + data[: len(data) // 2])
        time.sleep(0.3)  # let the server write what arrived before the cut


def test_a_dropped_upload_resumes_from_the_servers_offset(
    live: tuple[httpx.Client, Settings], clip: bytes
) -> None:
    client, settings = live
    total = len(clip)
    chunk = total // 3 + 1
    upload_id = _start(client, total, title="Молния", priority="urgent")
    first = _patch(client, upload_id, clip[:chunk], 0, total)
    assert first.status_code == 200, first.text
    assert (first.json()["offset"], first.json()["job"]) == (chunk, None)

    _drop_mid_chunk(str(client.base_url), upload_id, clip[chunk : 2 * chunk], chunk, total)
    deadline = time.monotonic() + 5
    while (offset := _offset(client, upload_id)) == chunk and time.monotonic() < deadline:
        time.sleep(0.1)
    assert chunk < offset < 2 * chunk  # the half that arrived is kept

    stale = _patch(client, upload_id, clip[chunk : 2 * chunk], chunk, total)
    assert stale.status_code == 409
    assert f"continue from {offset}" in stale.json()["detail"]

    last = None
    while offset < total:
        last = _patch(client, upload_id, clip[offset : offset + chunk], offset, total)
        assert last.status_code == 200, last.text
        offset = last.json()["offset"]
    assert last is not None and last.json()["complete"]
    job = last.json()["job"]
    assert (job["state"], job["priority"]) == ("queued", "urgent")

    sessions = session_factory(settings.sqlalchemy_url)
    with sessions() as session:
        stored = session.get(Job, job["id"])
        assert stored is not None and job_priority(stored) is JobPriority.URGENT
        created = session.get(Clip, job["clip_id"])
        assert created is not None
        assert created.sha256 == hashlib.sha256(clip).hexdigest()
        assert (created.title, created.original_filename) == ("Молния", "срочно.mp4")
    assert job["id"] in live_job_ids(settings)
    # A client that lost the last response learns the job from the upload.
    status = client.get(f"/api/v1/uploads/{upload_id}").json()
    assert (status["offset"], status["job"]["id"]) == (total, job["id"])
    late = _patch(client, upload_id, clip[:10], 0, total)
    assert late.status_code == 409


def test_bad_ranges_and_sizes_are_refused_clearly(
    live: tuple[httpx.Client, Settings], clip: bytes
) -> None:
    client, _ = live
    total = len(clip)
    too_big = client.post(
        "/api/v1/uploads", json={"filename": "a.mp4", "size": MAX_UPLOAD_BYTES + 1}
    )
    assert too_big.status_code == 413
    bad_field = client.post(
        "/api/v1/uploads",
        json={"filename": "a.mp4", "size": total, "metadata": {"air_date": "вчера"}},
    )
    assert bad_field.status_code == 400 and "YYYY-MM-DD" in bad_field.json()["detail"]
    path_name = client.post("/api/v1/uploads", json={"filename": "../a.mp4", "size": total})
    assert path_name.status_code == 400

    upload_id = _start(client, total)
    no_range = client.patch(f"/api/v1/uploads/{upload_id}", content=clip[:10])
    assert no_range.status_code == 400 and "Content-Range" in no_range.json()["detail"]
    wrong_total = _patch(client, upload_id, clip[:10], 0, total + 1)
    assert wrong_total.status_code == 416 and "outside" in wrong_total.json()["detail"]
    ahead = _patch(client, upload_id, clip[10:20], 10, total)
    assert ahead.status_code == 409 and "continue from 0" in ahead.json()["detail"]
    longer = client.patch(
        f"/api/v1/uploads/{upload_id}",
        content=clip[:20],
        headers={"Content-Range": f"bytes 0-9/{total}"},
    )
    assert longer.status_code == 416
    assert _offset(client, upload_id) == 0  # nothing of a refused chunk is kept
    unknown = client.head(f"/api/v1/uploads/{'0' * 32}")
    assert unknown.status_code == 404


def test_undecodable_media_fails_on_the_last_chunk_and_is_not_kept(
    live: tuple[httpx.Client, Settings],
) -> None:
    client, _ = live
    junk = os.urandom(4096)
    upload_id = _start(client, len(junk))
    response = _patch(client, upload_id, junk, 0, len(junk))
    assert response.status_code == 422
    assert client.get(f"/api/v1/uploads/{upload_id}").status_code == 404


def test_stale_uploads_expire(tmp_path: Path) -> None:
    uploads = ResumableUploads(tmp_path, max_bytes=100, expire_after_s=60)
    old = uploads.create(filename="old.mp4", size_bytes=10, fields={})
    fresh = uploads.create(filename="new.mp4", size_bytes=10, fields={})
    hour_ago = time.time() - 3600
    for suffix in (".json", ".part"):
        os.utime(tmp_path / f"{old.id}{suffix}", (hour_ago, hour_ago))
    assert uploads.expire_stale() == [old.id]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        f"{fresh.id}.json",
        f"{fresh.id}.part",
    ]
