"""A large upload streams to disk: the API process's peak memory stays far below the
file's size (a 4 GB broadcast must never sit in RAM)."""

from __future__ import annotations

import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from support.service_support import (
    REPO_ROOT,
    SettingsFactory,
    free_port,
    settings_environment,
    stop_process,
)

from efir.db import migrate

UPLOAD_BYTES = 300 * 1024**2
BOUNDARY = "efirlargeupload"


def wav_header(data_bytes: int, sample_rate: int = 16_000) -> bytes:
    """A 16-bit mono PCM WAV header for ``data_bytes`` of samples."""
    return (
        b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
        + b"data" + struct.pack("<I", data_bytes)
    )  # fmt: skip


def multipart_stream(total_bytes: int) -> Iterator[bytes]:
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="long.wav"\r\nContent-Type: audio/wav\r\n\r\n'
    ).encode()
    yield wav_header(total_bytes)
    silence = bytes(1024 * 1024)
    for _ in range(total_bytes // len(silence)):
        yield silence
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def test_a_300_mb_upload_streams_to_disk(
    make_settings: SettingsFactory, redis_url: str, queue_name: str, tmp_path: Path
) -> None:
    settings = make_settings(redis_url=redis_url, queue_name=queue_name)
    migrate(settings.sqlalchemy_url)
    port = free_port()
    log_path = tmp_path / "api.log"
    with log_path.open("wb") as log:
        api = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "api.main:create_app",
             "--port", str(port), "--log-level", "warning"],
            env=settings_environment(settings), cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert api.poll() is None, log_path.read_text()
            try:
                httpx.get(f"{base_url}/api/v1/jobs", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        baseline_kb = _peak_rss_kb(api.pid)
        response = httpx.post(
            f"{base_url}/api/v1/clips",
            content=multipart_stream(UPLOAD_BYTES),
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
            timeout=300,
        )
        peak_kb = _peak_rss_kb(api.pid)
    finally:
        stop_process(api)
    assert response.status_code == 202, response.text
    stored = [p for p in settings.media_dir.rglob("*") if p.is_file()]
    assert [p.stat().st_size for p in stored] == [UPLOAD_BYTES + 44]
    growth_mb = (peak_kb - baseline_kb) / 1024
    print(f"\nAPI peak memory grew {growth_mb:.1f} MB for a {UPLOAD_BYTES / 1024**2:.0f} MB upload")
    assert growth_mb < 64


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")
