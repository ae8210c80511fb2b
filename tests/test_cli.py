"""The `efir` command as a user runs it: a real subprocess with EFIR_* settings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect
from support.service_support import (
    SEED_DIR,
    SettingsFactory,
    cut_seed,
    session_factory,
    settings_environment,
)

from efir.db import make_engine
from efir.transcripts.model import Transcript
from efir.transcripts.revisions import latest_revision


def run_efir(settings_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=settings_env,
        capture_output=True,
        timeout=900,
        check=False,
    )


def test_migrate_creates_the_schema(make_settings: SettingsFactory, sqlite_url: str) -> None:
    result = run_efir(settings_environment(make_settings()), "migrate")
    assert result.returncode == 0, result.stderr.decode()
    assert b"database ready" in result.stdout
    tables = set(inspect(make_engine(sqlite_url)).get_table_names())
    assert {"clips", "jobs", "transcripts", "voices", "alembic_version"} <= tables


def test_transcribe_refuses_what_is_not_media(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.mp4"
    notes.write_text("не видео", encoding="utf-8")
    result = run_efir(settings_environment(make_settings()), "transcribe", str(notes))
    assert result.returncode == 2
    assert "not decodable audio or video" in result.stderr.decode()
    assert result.stdout == b""


@pytest.mark.slow
def test_transcribe_prints_json_shows_progress_and_saves(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    settings = make_settings()
    clip = cut_seed(tmp_path / "anchor.mp4", start_s=0, duration_s=21)
    glossary = tmp_path / "names.txt"
    glossary.write_text((SEED_DIR / "seed.glossary").read_text(encoding="utf-8"))
    result = run_efir(
        settings_environment(settings),
        "transcribe", str(clip), "--glossary", str(glossary),
        "--save", "--title", "Вечерние новости", "--air-date", "2024-03-10",
    )  # fmt: skip
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    printed = Transcript.from_dict(json.loads(result.stdout))
    assert printed.language == "ru" and printed.segments
    assert "костана" in printed.text.lower()
    assert "transcribing" in stderr and "%" in stderr  # the tqdm bar went to stderr
    assert "saved as clip" in stderr
    with session_factory(settings.sqlalchemy_url)() as session:
        clip_id = stderr.rsplit("saved as clip ", 1)[1].split()[0]
        saved = latest_revision(session, clip_id)
        assert Transcript.from_dict(saved.data) == printed
        assert saved.author == "efir-cli"
