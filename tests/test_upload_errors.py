"""Bad uploads get a 4xx with a clear message and leave nothing in storage or the database."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from support.service_support import (
    SEED_DIR,
    SettingsFactory,
    cut_seed,
    running_api,
    session_factory,
)

from efir.config import Settings
from efir.db import Clip, Job

BOUNDARY = "efirtestboundary"


def multipart_body(filename: bytes, content: bytes, fields: dict[str, str] | None = None) -> bytes:
    """A multipart body built by hand, so hostile names reach the server byte for byte."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in (fields or {}).items()
    ]
    parts.append(
        f"--{BOUNDARY}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="'
        + filename
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def post_raw(client: httpx.Client, body: bytes | Iterator[bytes]) -> httpx.Response:
    return client.post(
        "/api/v1/clips",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )


def post_streamed(client: httpx.Client, body: bytes) -> httpx.Response | None:
    """POST ``body`` in 64 KiB pieces with no Content-Length (chunked transfer); None when
    the server closed the connection before the client finished sending."""
    pieces = (body[start : start + 64 * 1024] for start in range(0, len(body), 64 * 1024))
    try:
        return post_raw(client, pieces)
    except httpx.TransportError:
        return None


def assert_nothing_left(settings: Settings) -> None:
    leftovers = [p for p in settings.media_dir.rglob("*") if p.is_file()]
    assert leftovers == []
    sessions = session_factory(settings.sqlalchemy_url)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Clip)) == 0
        assert session.scalar(select(func.count()).select_from(Job)) == 0


@pytest.fixture(scope="module")
def bad_media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("bad-media")
    text = directory / "notes.mp4"
    text.write_text("Это текстовый файл, а не видео.\n" * 50, encoding="utf-8")
    mp3 = directory / "full.mp3"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-t", "20", "-i", str(SEED_DIR / "seed.wav"), str(mp3)],
        check=True,
    )
    truncated = directory / "truncated.mp3"
    truncated.write_bytes(mp3.read_bytes()[: mp3.stat().st_size // 3])
    silent_video = cut_seed(directory / "silent.mp4", start_s=0, duration_s=3, audio=False)
    return {"text": text, "truncated": truncated, "silent": silent_video}


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        ("text", 422, "not decodable audio or video"),
        ("truncated", 422, "damaged or truncated"),
        ("silent", 422, "no audio track"),
    ],
)
def test_undecodable_media_is_refused(
    api_client: tuple[httpx.Client, Settings],
    bad_media: dict[str, Path],
    kind: str,
    status: int,
    message: str,
) -> None:
    client, settings = api_client
    path = bad_media[kind]
    response = client.post("/api/v1/clips", files={"file": (path.name, path.read_bytes())})
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert_nothing_left(settings)


def test_zero_byte_upload_is_refused(api_client: tuple[httpx.Client, Settings]) -> None:
    client, settings = api_client
    response = client.post("/api/v1/clips", files={"file": ("empty.mp4", b"")})
    assert response.status_code == 422
    assert "empty" in response.json()["detail"]
    assert_nothing_left(settings)


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        (b"../../etc/passwd", "must not contain a path"),
        (b"..", "must not contain a path"),
        # (python-multipart itself cuts Windows paths "C:\\…\\clip.mp4" to their last part.)
        (b"clip\x00.mp4", "control characters"),
        (b"clip\x1b[31m.mp4", "control characters"),
        ("я".encode() * 200 + b".mp4", "longer than 255 bytes"),
        (b"\xff\xfe.mp4", "not UTF-8"),
        # Bidi overrides disguise a name: "clip\u202egpj.wav" shows as "clipvaw.jpg".
        ("clip\u202egpj.wav".encode(), "control characters"),
        ("\u2067clip.wav".encode(), "control characters"),
        (b"a" * 1000 + b".wav", "longer than 255 bytes"),
    ],
)
def test_hostile_file_names_are_refused_before_anything_is_written(
    api_client: tuple[httpx.Client, Settings], filename: bytes, message: str
) -> None:
    client, settings = api_client
    media = (SEED_DIR / "seed.wav").read_bytes()[:200_000]
    response = post_raw(client, multipart_body(filename, media))
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert_nothing_left(settings)


def test_a_russian_file_name_is_kept_for_display_only(
    api_client: tuple[httpx.Client, Settings],
) -> None:
    client, settings = api_client
    name = "Вечерние новости — сюжет «Костанай».wav"
    response = post_raw(client, multipart_body(name.encode(), (SEED_DIR / "seed.wav").read_bytes()))
    assert response.status_code == 202, response.text
    clip = client.get(f"/api/v1/clips/{response.json()['clip_id']}").json()
    assert clip["original_filename"] == name
    stored = [p for p in settings.media_dir.rglob("*") if p.is_file()]
    assert [p.name for p in stored] == [clip["sha256"]]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"air_date": "26.11.2026"}, "YYYY-MM-DD"),
        # No longer than the clips table holds (PostgreSQL refuses a longer value).
        ({"programme": "п" * 201}, "programme is too long"),
        ({"title": "т" * 501}, "title is too long"),
    ],
)
def test_bad_metadata_is_refused(
    api_client: tuple[httpx.Client, Settings], fields: dict[str, str], message: str
) -> None:
    client, settings = api_client
    media = (SEED_DIR / "seed.wav").read_bytes()
    response = post_raw(client, multipart_body(b"seed.wav", media, fields=fields))
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert_nothing_left(settings)


def test_a_request_without_a_file_is_refused(api_client: tuple[httpx.Client, Settings]) -> None:
    client, settings = api_client
    response = client.post("/api/v1/clips", data={"title": "Без файла"}, files={"x": ("", b"")})
    assert response.status_code == 400
    response = client.post("/api/v1/clips", json={"file": "seed.mp4"})
    assert response.status_code == 400
    assert "multipart/form-data" in response.json()["detail"]
    assert_nothing_left(settings)


@pytest.fixture
def small_limit_api(
    make_settings: SettingsFactory, redis_url: str, queue_name: str
) -> Iterator[tuple[httpx.Client, Settings]]:
    settings = make_settings(redis_url=redis_url, queue_name=queue_name, max_upload_bytes=300_000)
    with running_api(settings) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        yield client, settings


def test_over_the_size_limit_is_refused_from_the_declared_length(
    small_limit_api: tuple[httpx.Client, Settings],
) -> None:
    client, settings = small_limit_api
    media = (SEED_DIR / "seed.wav").read_bytes()
    response = client.post("/api/v1/clips", files={"file": ("seed.wav", media)})
    assert response.status_code == 413
    assert "upload size limit" in response.json()["detail"]
    assert_nothing_left(settings)


def test_over_the_size_limit_is_refused_while_streaming(
    small_limit_api: tuple[httpx.Client, Settings],
) -> None:
    """Chunked upload with no Content-Length: the limit stops the stream as it is crossed."""
    client, settings = small_limit_api
    body = multipart_body(b"seed.wav", (SEED_DIR / "seed.wav").read_bytes()[:1_000_000])
    response = post_streamed(client, body)
    if response is not None:
        assert response.status_code == 413
        assert "upload limit" in response.json()["detail"]
    assert_nothing_left(settings)


def test_the_same_content_is_stored_once(api_client: tuple[httpx.Client, Settings]) -> None:
    client, settings = api_client
    media = (SEED_DIR / "seed.wav").read_bytes()
    first = client.post("/api/v1/clips", files={"file": ("a.wav", media)}).json()
    second = client.post("/api/v1/clips", files={"file": ("b.wav", media)}).json()
    assert first["clip_id"] != second["clip_id"]
    stored = [p for p in settings.media_dir.rglob("*") if p.is_file()]
    assert len(stored) == 1
