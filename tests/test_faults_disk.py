"""A full disk under uploads: a real 20 MB tmpfs as the data dir. Uploads bigger than the
free space get 507 with a clear message, whether refused from the declared size or cut
off when the disk fills (ENOSPC), leave no bytes and no rows, and the service goes on
taking uploads that fit."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.service_support import SEED_DIR, SettingsFactory, cut_seed, running_api
from test_upload_errors import assert_nothing_left, multipart_body, post_raw, post_streamed

from efir.config import Settings

DISK_BYTES = 20 * 1024 * 1024
FULL = "The server's disk"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"mounting a tmpfs needs root (CAP_SYS_ADMIN): {result.stderr}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


@pytest.fixture
def full_disk_api(
    small_disk: Path, make_settings: SettingsFactory, redis_url: str, queue_name: str
) -> Iterator[tuple[httpx.Client, Settings]]:
    # The database (SQLite in tmp_path) stays off the small disk: only uploads fill it.
    settings = make_settings(data_dir=small_disk, redis_url=redis_url, queue_name=queue_name)
    with running_api(settings) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        yield client, settings


@pytest.fixture(scope="module")
def oversized() -> bytes:
    """30 MB: a few copies of the seed, never decoded because it never fits."""
    return (SEED_DIR / "seed.wav").read_bytes() * 7


def assert_disk_left_empty(settings: Settings) -> None:
    assert_nothing_left(settings)
    assert [path for path in settings.data_dir.rglob("*") if path.is_file()] == []
    assert shutil.disk_usage(settings.data_dir).free > DISK_BYTES * 0.95


def assert_disk_full_answer(response: httpx.Response) -> None:
    assert response.status_code == 507, response.text
    detail = response.json()["detail"]
    assert FULL in detail and "На диске сервера" in detail


def assert_a_small_upload_still_works(client: httpx.Client, tmp_path: Path) -> None:
    clip = cut_seed(tmp_path / "после.mp4", start_s=30, duration_s=3)
    response = client.post("/api/v1/clips", files={"file": (clip.name, clip.read_bytes())})
    assert response.status_code == 202, response.text


def test_a_multipart_upload_declared_bigger_than_the_free_space_is_refused(
    full_disk_api: tuple[httpx.Client, Settings], oversized: bytes, tmp_path: Path
) -> None:
    client, settings = full_disk_api
    assert len(oversized) > DISK_BYTES
    assert_disk_full_answer(post_raw(client, multipart_body(b"big.wav", oversized)))
    assert_disk_left_empty(settings)
    assert_a_small_upload_still_works(client, tmp_path)


def test_a_streamed_upload_that_fills_the_disk_is_cut_off_and_removed(
    full_disk_api: tuple[httpx.Client, Settings], oversized: bytes, tmp_path: Path
) -> None:
    """No Content-Length: only the write that finds the disk full (ENOSPC) can stop it."""
    client, settings = full_disk_api
    response = post_streamed(client, multipart_body(b"big.wav", oversized))
    if response is not None:  # the server may close the connection before the body ends
        assert_disk_full_answer(response)
    assert_disk_left_empty(settings)
    assert_a_small_upload_still_works(client, tmp_path)


def _patch(client: httpx.Client, upload_id: str, data: bytes, start: int, total: int) -> int:
    response = client.patch(
        f"/api/v1/uploads/{upload_id}",
        content=data,
        headers={"Content-Range": f"bytes {start}-{start + len(data) - 1}/{total}"},
    )
    if response.status_code == 507:
        assert_disk_full_answer(response)
    return response.status_code


def test_resumable_uploads_get_507_when_the_disk_cannot_hold_them(
    full_disk_api: tuple[httpx.Client, Settings], oversized: bytes, tmp_path: Path
) -> None:
    client, settings = full_disk_api
    refused = client.post("/api/v1/uploads", json={"filename": "big.wav", "size": len(oversized)})
    assert_disk_full_answer(refused)

    # Two uploads that each fit, but not together: the one whose chunk fills the disk goes.
    size, received = 15 * 1024 * 1024, 10 * 1024 * 1024
    first, second = (
        client.post("/api/v1/uploads", json={"filename": name, "size": size}).json()["id"]
        for name in ("first.wav", "second.wav")
    )
    assert _patch(client, first, oversized[:received], 0, size) == 200
    assert _patch(client, second, oversized[: size - 1024], 0, size) == 507
    assert client.get(f"/api/v1/uploads/{second}").status_code == 404
    assert client.head(f"/api/v1/uploads/{first}").headers["Upload-Offset"] == str(received)
    # The last chunk fits, but the finish copies the upload into staging: twice its size
    # does not fit.
    assert _patch(client, first, oversized[received:size], received, size) == 507
    assert client.get(f"/api/v1/uploads/{first}").status_code == 404
    assert_disk_left_empty(settings)
    assert_a_small_upload_still_works(client, tmp_path)
