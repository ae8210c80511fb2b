"""docker-compose.yml: valid for Compose where the client exists, and shaped as documented."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml
from support.service_support import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"


def _compose_command() -> list[str] | None:
    """Compose v2 (`docker compose`) where installed, else Debian's standalone `docker-compose`."""
    if shutil.which("docker") is not None:
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone else None


COMPOSE = _compose_command()


@pytest.mark.skipif(COMPOSE is None, reason="no docker compose client here")
def test_docker_compose_config_is_valid() -> None:
    assert COMPOSE is not None
    command = [*COMPOSE, "-f", str(COMPOSE_FILE), "config", "-q"]
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("EFIR_", "MINIO_"))
    }
    secrets = {
        "EFIR_SECRET_KEY": "a-long-random-secret-for-the-compose-check-0123456789",
        "MINIO_ROOT_USER": "efir",
        "MINIO_ROOT_PASSWORD": "a-bucket-password-for-the-compose-check",
    }
    result = subprocess.run(
        command, env={**environment, **secrets}, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    # Without any one of the secrets, Compose refuses before anything starts.
    for name in secrets:
        missing = {key: value for key, value in secrets.items() if key != name}
        unset = subprocess.run(
            command, env={**environment, **missing}, capture_output=True, text=True, check=False
        )
        assert unset.returncode != 0 and name in unset.stderr


def test_compose_runs_the_documented_services() -> None:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    services = compose["services"]
    assert {"redis", "postgres", "api", "worker"} <= set(services)
    worker = services["worker"]
    # --scale worker=N needs replicas without fixed names or host ports.
    assert "container_name" not in worker and "ports" not in worker
    assert worker["command"][:2] == ["efir", "worker"]
    for name in ("api", "worker"):
        environment = services[name]["environment"]
        assert environment["EFIR_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert environment["EFIR_REDIS_URL"].startswith("redis://redis:")
    assert (REPO_ROOT / "Dockerfile").is_file()


def test_compose_publishes_only_the_api_and_hard_codes_no_bucket_credentials() -> None:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    published = {name for name, service in compose["services"].items() if "ports" in service}
    assert published == {"api"}
    text = COMPOSE_FILE.read_text()
    assert "efir-secret" not in text
    minio = compose["services"]["minio"]["environment"]
    assert minio["MINIO_ROOT_USER"].startswith("${MINIO_ROOT_USER:?")
    assert minio["MINIO_ROOT_PASSWORD"].startswith("${MINIO_ROOT_PASSWORD:?")
