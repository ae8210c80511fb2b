"""A new export format is one module plus one line in efir.exports.FORMATS: registered
there, it is served by the API (and listed in its OpenAPI enum), offered by the CLI and
listed for the web UI's download links, with no other change."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from support.service_support import SettingsFactory, save_clip_with_transcript

from api.main import create_app
from cli.main import main
from efir.db import migrate
from efir.exports import FORMATS, ExportFormat, ExportRequest


def _word_count(request: ExportRequest) -> bytes:
    return f"{len(request.transcript.text.split())} слов".encode()


@pytest.fixture
def dummy_format(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(
        FORMATS, "wordcount", ExportFormat("text/x-word-count; charset=utf-8", "wc", _word_count)
    )
    return "wordcount"


def test_registered_format_reaches_api_openapi_and_ui_list(
    dummy_format: str, make_settings: SettingsFactory
) -> None:
    settings = make_settings()
    migrate(settings.sqlalchemy_url)
    clip_id = save_clip_with_transcript(settings.sqlalchemy_url, "Раз два три четыре")
    client = TestClient(create_app(settings), base_url="http://127.0.0.1")

    listed = client.get("/api/v1/export-formats")
    assert listed.status_code == 200
    assert {
        "name": dummy_format,
        "extension": "wc",
        "media_type": "text/x-word-count; charset=utf-8",
    } in listed.json()

    operation = client.get("/openapi.json").json()["paths"]["/api/v1/transcripts/{clip_id}/export"][
        "get"
    ]
    (parameter,) = [p for p in operation["parameters"] if p["name"] == "format"]
    assert parameter["schema"]["enum"] == list(FORMATS)

    exported = client.get(f"/api/v1/transcripts/{clip_id}/export?format={dummy_format}")
    assert exported.status_code == 200, exported.text
    assert exported.content.decode() == "4 слов"
    assert exported.headers["content-type"].startswith("text/x-word-count")
    assert exported.headers["content-disposition"].endswith(f"{clip_id}.wc")

    unknown = client.get(f"/api/v1/transcripts/{clip_id}/export?format=nonsense")
    assert unknown.status_code == 422
    assert dummy_format in unknown.json()["detail"]


def test_registered_format_is_a_cli_choice(
    dummy_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["transcribe", "--help"])
    assert exit_info.value.code == 0
    assert dummy_format in capsys.readouterr().out
