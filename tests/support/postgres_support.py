"""A private PostgreSQL cluster a test may stop and start at will.

The machine's shared server (127.0.0.1:5432) serves every engineer's tests, so an
outage test must never touch it. ``private_postgres`` runs ``initdb`` and ``pg_ctl``
from the Debian packages as the ``postgres`` OS user (the server refuses to run as
root) in a temporary directory, on a free port, with trust auth for local TCP.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support.service_support import free_port

__all__ = ["PrivatePostgres", "private_postgres"]

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
POSTGRES_USER = "postgres"
PG_CTL_TIMEOUT_S = 30


class PrivatePostgres:
    """One cluster: ``url`` for SQLAlchemy; ``stop()`` and ``start()`` for outages."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.url = f"postgresql+psycopg://{POSTGRES_USER}@127.0.0.1:{port}/postgres"

    def start(self) -> None:
        self._pg_ctl(
            "start",
            "--wait",
            f"--log={self.directory / 'server.log'}",
            # Listen on loopback only; the socket lives in the cluster's own directory.
            f"--options=-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.directory} -c fsync=off",
        )

    def stop(self) -> None:
        """A fast shutdown: open connections are cut, as in a real crash or failover."""
        self._pg_ctl("stop", "--wait", "--mode=fast")

    def _pg_ctl(self, *arguments: str) -> None:
        _run_as_postgres(
            str(POSTGRES_BIN / "pg_ctl"),
            f"--pgdata={self.directory / 'data'}",
            f"--timeout={PG_CTL_TIMEOUT_S}",
            *arguments,
        )


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A fresh, running cluster, stopped and deleted afterwards."""
    if not (POSTGRES_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL 15 server binaries are needed in {POSTGRES_BIN}")
    # Not pytest's tmp_path: that is private to root, and the server runs as postgres.
    directory = Path(tempfile.mkdtemp(prefix="efir-pg-"))
    owner = pwd.getpwnam(POSTGRES_USER)
    os.chown(directory, owner.pw_uid, owner.pw_gid)
    cluster = PrivatePostgres(directory, free_port())
    try:
        _run_as_postgres(
            str(POSTGRES_BIN / "initdb"),
            f"--pgdata={directory / 'data'}",
            "--auth=trust",
            f"--username={POSTGRES_USER}",
            "--encoding=UTF8",
            "--no-sync",
        )
        cluster.start()
        yield cluster
    finally:
        if (directory / "data" / "postmaster.pid").exists():
            cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)


def _run_as_postgres(*command: str) -> None:
    result = subprocess.run(
        ["runuser", "-u", POSTGRES_USER, "--", *command],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
