"""A local S3 endpoint for tests: moto's server mode in a child process, speaking the
real S3 protocol over HTTP, so boto3's transfers, ranges and errors are exercised."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from support.service_support import free_port, stop_process

__all__ = ["S3_TEST_CREDENTIALS", "running_s3_server"]

# Moto accepts any credentials; boto3 refuses to sign a request without some.
S3_TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "efir-test", "AWS_SECRET_ACCESS_KEY": "efir-test"}
_START_TIMEOUT_S = 30.0


@contextmanager
def running_s3_server(log_path: Path) -> Iterator[str]:
    """Moto's S3 server on a free 127.0.0.1 port; yields its endpoint URL."""
    port = free_port()
    moto_server = Path(sys.executable).with_name("moto_server")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(moto_server), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"moto did not start:\n{log_path.read_text()}") from None
                time.sleep(0.1)
        yield url
    finally:
        stop_process(process)
