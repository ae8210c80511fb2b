"""Search through the real app and the real `efir` command, on SQLite and PostgreSQL.

The database is migrated (0001 + 0002), transcripts are stored through the
revision store, so indexing follows saving and editing as in production.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import httpx
from support.service_support import (
    SettingsFactory,
    running_api,
    session_factory,
    settings_environment,
)
from test_search_support import CORPUS, transcript_of

from efir.db import Clip, new_id
from efir.transcripts.revisions import save_revision


def store_clip(database_url: str) -> str:
    """Clip A of the search corpus, saved as revision 1 under a fresh clip id."""
    meta, speakers, lines = CORPUS["clipa"]
    with session_factory(database_url)() as session:
        clip = Clip(
            id=new_id(),
            sha256="0" * 64,
            original_filename="itogi.mp4",
            media_key="none",
            size_bytes=1,
            title=meta.title,
            programme=meta.programme,
            channel=meta.channel,
            air_date=meta.air_date,
        )
        session.add(clip)
        session.flush()
        save_revision(session, clip_id=clip.id, transcript=transcript_of(speakers, lines))
        return clip.id


@contextmanager
def api_over_stored_clip(
    database_url: str, make_settings: SettingsFactory
) -> Iterator[tuple[str, httpx.Client]]:
    """Clip A stored (see store_clip) and a running API over its database."""
    clip_id = store_clip(database_url)
    settings = make_settings(database_url=database_url)
    with running_api(settings) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        yield clip_id, client


def hits_of(page: dict[str, Any]) -> list[dict[str, Any]]:
    return [hit for group in page["clips"] for hit in group["hits"]]


def test_api_search_follows_saved_and_edited_revisions(
    database_url: str, make_settings: SettingsFactory
) -> None:
    with api_over_stored_clip(database_url, make_settings) as (clip_id, client):
        response = client.get("/api/v1/search", params={"q": "Костанай", "clip": clip_id})
        assert response.status_code == 200
        page = response.json()
        (group,) = page["clips"]
        assert (group["clip_id"], group["programme"], group["air_date"]) == (
            clip_id,
            "Итоги недели",
            "2024-03-10",
        )
        hits = {hit["segment_id"]: hit for hit in group["hits"]}
        assert set(hits) == {0, 1}
        assert hits[1]["url"] == f"/clips/{clip_id}?t=4.5"
        assert hits[1]["media_url"] == f"/api/v1/clips/{clip_id}/media#t=4.5"
        assert "<mark>Костанайской</mark>" in hits[1]["snippet"]

        filtered = client.get(
            "/api/v1/search",
            params={"q": "Костанай", "clip": clip_id, "role": "Корр", "from": "2024-03-01"},
        ).json()
        assert [h["segment_id"] for g in filtered["clips"] for h in g["hits"]] == [1]
        assert client.get("/api/v1/search", params={"q": "-аким"}).status_code == 400
        assert client.get("/api/v1/search", params={"q": "аким", "limit": 0}).status_code == 422

        edit = {
            "base_revision": 1,
            "ops": [{"op": "set_text", "segment_id": 0, "text": "В Рудном прошло совещание."}],
        }
        assert client.patch(f"/api/v1/transcripts/{clip_id}", json=edit).status_code == 200
        after = client.get("/api/v1/search", params={"q": "Костанай", "clip": clip_id}).json()
        assert [h["segment_id"] for g in after["clips"] for h in g["hits"]] == [1]
        moved = client.get("/api/v1/search", params={"q": "Рудный", "clip": clip_id}).json()
        assert [h["segment_id"] for g in moved["clips"] for h in g["hits"]] == [0]


def test_api_search_sounds_like_hits_and_their_correction(
    database_url: str, make_settings: SettingsFactory
) -> None:
    with api_over_stored_clip(database_url, make_settings) as (clip_id, client):
        misheard = "Делегация из Бильгей встретилась с акимом."
        edit = {"base_revision": 1, "ops": [{"op": "set_text", "segment_id": 2, "text": misheard}]}
        assert client.patch(f"/api/v1/transcripts/{clip_id}", json=edit).status_code == 200
        query = {"q": "Бельгия", "clip": clip_id}
        (hit,) = hits_of(client.get("/api/v1/search", params=query).json())
        assert (hit["segment_id"], hit["match"], hit["heard"]) == (2, "sounds_like", "Бильгей")
        assert "<mark>Бильгей</mark>" in hit["snippet"]
        exact_only = client.get("/api/v1/search", params={**query, "fuzzy": "false"}).json()
        assert exact_only["clips"] == []

        # The editor corrects the word: from now on it is an exact hit.
        fixed = {
            "base_revision": 2,
            "ops": [
                {"op": "set_text", "segment_id": 2, "text": misheard.replace("Бильгей", "Бельгии")}
            ],
        }
        assert client.patch(f"/api/v1/transcripts/{clip_id}", json=fixed).status_code == 200
        (hit,) = hits_of(client.get("/api/v1/search", params=query).json())
        assert (hit["segment_id"], hit["match"], hit["heard"]) == (2, "exact", None)


def test_cli_search_prints_json_hits_and_pages(
    database_url: str, make_settings: SettingsFactory
) -> None:
    clip_id = store_clip(database_url)
    settings = make_settings(database_url=database_url)
    command = [sys.executable, "-m", "cli.main", "search", '"неправительственная организация"']
    result = subprocess.run(
        [*command, "--clip", clip_id, "--from", str(date(2024, 1, 1)), "--json"],
        env=settings_environment(settings),
        capture_output=True,
        text=True,
        check=True,
    )
    (hit,) = json.loads(result.stdout)
    assert hit["clip"] == clip_id
    assert hit["match"] == "exact" and "heard" not in hit
    assert (hit["start"], hit["end"], hit["speaker"]) == (4.5, 8.0, "Корр")
    assert hit["text"].startswith("Представители неправительственных организаций")
    assert "<mark>неправительственных</mark> <mark>организаций</mark>" in hit["snippet"]

    page = json.loads(
        subprocess.run(
            [*command, "--clip", clip_id, "--json-page"],
            env=settings_environment(settings),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert page["hits"] == [hit]
    assert (page["ranking"], page["hit_count"], page["next_cursor"]) == ("bm25", 1, None)

    plain = subprocess.run(
        [*command[:-1], "Костанай", "--clip", clip_id],
        env=settings_environment(settings),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "[Костанае]" in plain and f"/clips/{clip_id}?t=0.5" in plain
