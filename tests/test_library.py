"""The library: clips listed, filtered and sorted without a search word; metadata edited
after upload (and search follows); clips deleted with everything they own, audited;
media expired by the retention setting. Live API on SQLite and PostgreSQL, real uploads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from support.auth_support import add_user, bearer, production
from support.service_support import (
    SettingsFactory,
    cut_seed,
    running_api,
    save_clip_with_transcript,
    session_factory,
)

from efir.accounts.users import AccountRole
from efir.config import Settings
from efir.db import AuditEvent, Clip, Cut, CutState, TranscriptRevision, utcnow
from efir.media.library import expire_media
from efir.media.storage import make_storage
from efir.media.storage.base import MediaStorage
from efir.search.schema import search_segments
from efir.transcripts.model import Segment, Speaker, SpeakerRole, Transcript
from efir.transcripts.revisions import latest_revision, save_revision


@pytest.fixture
def library(
    make_settings: SettingsFactory, database_url: str, redis_url: str, queue_name: str
) -> Iterator[tuple[httpx.Client, Settings]]:
    settings = make_settings(database_url=database_url, redis_url=redis_url, queue_name=queue_name)
    with running_api(settings) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        yield client, settings


def _upload(client: httpx.Client, media: Path, **fields: str) -> str:
    with media.open("rb") as file:
        response = client.post("/api/v1/clips", files={"file": (media.name, file)}, data=fields)
    assert response.status_code == 202, response.text
    clip_id: str = response.json()["clip_id"]
    return clip_id


def _listed(client: httpx.Client, **params: str) -> list[str]:
    response = client.get("/api/v1/clips", params=params)
    assert response.status_code == 200, response.text
    assert int(response.headers["x-total-count"]) >= len(response.json())
    return [clip["id"] for clip in response.json()]


def test_library_filters_and_sorts_without_a_search_word(
    library: tuple[httpx.Client, Settings], tmp_path: Path
) -> None:
    client, _ = library
    programme = f"Итоги недели {uuid.uuid4().hex[:6]}"
    older = _upload(
        client,
        cut_seed(tmp_path / "a.mp4", start_s=3, duration_s=4),
        title="Форум",
        programme=programme,
        channel="Хабар",
        air_date="2026-11-02",
    )
    newer = _upload(
        client,
        cut_seed(tmp_path / "b.mp4", start_s=10, duration_s=4),
        title="Ёлка на площади",
        programme=programme,
        channel="Казахстан",
        air_date="2026-11-20",
    )
    other = _upload(client, cut_seed(tmp_path / "c.mp4", start_s=20, duration_s=4))

    # Any case, and ё = е, with no query text at all.
    assert _listed(client, programme=programme.upper()) == [newer, older]
    assert _listed(client, programme=programme.lower(), order="asc") == [older, newer]
    assert _listed(client, programme=programme, sort="air_date", order="asc") == [older, newer]
    assert _listed(client, programme=programme, channel="хабар") == [older]
    assert _listed(client, programme=programme, **{"from": "2026-11-10"}) == [newer]
    assert _listed(client, programme=programme, to="2026-11-10") == [older]
    assert _listed(client, programme=programme, state="queued") == [newer, older]
    assert _listed(client, programme=programme, state="done") == []
    assert other in _listed(client, limit="500")
    entry = client.get("/api/v1/clips", params={"programme": programme}).json()[0]
    assert (entry["state"], entry["job_id"] is not None) == ("queued", True)

    suggestions = client.get(
        "/api/v1/clips/suggestions", params={"field": "programme", "q": "ИТОГИ"}
    ).json()
    assert programme in suggestions
    assert client.get("/api/v1/clips/suggestions", params={"field": "title"}).status_code == 422


def test_library_filters_by_speaker_caption(library: tuple[httpx.Client, Settings]) -> None:
    client, settings = library
    clip_id = save_clip_with_transcript(settings.sqlalchemy_url, "Слово гостю студии")
    sessions = session_factory(settings.sqlalchemy_url)
    with sessions() as session:
        current = Transcript.from_dict(latest_revision(session, clip_id).data)
        named = Speaker("S0", name="Ерлан СПАНОВ", title="ЗАМЕСТИТЕЛЬ АКИМА")
        save_revision(session, clip_id=clip_id, transcript=replace(current, speakers=(named,)))
    assert clip_id in _listed(client, speaker="спанов")
    assert clip_id not in _listed(client, speaker="какенов")


def test_metadata_edits_reach_search(library: tuple[httpx.Client, Settings]) -> None:
    client, settings = library
    word = f"метаданные{uuid.uuid4().hex[:4]}"
    clip_id = save_clip_with_transcript(settings.sqlalchemy_url, f"Сегодня {word} эфира")
    programme = f"Вечер {uuid.uuid4().hex[:6]}"
    response = client.patch(
        f"/api/v1/clips/{clip_id}",
        json={"title": "  Новый заголовок ", "programme": programme, "air_date": "2026-12-01"},
    )
    assert response.status_code == 200, response.text
    assert (response.json()["title"], response.json()["air_date"]) == (
        "Новый заголовок",
        "2026-12-01",
    )
    hits = client.get("/api/v1/search", params={"q": "сегодня", "programme": programme}).json()
    assert [clip["clip_id"] for clip in hits["clips"]] == [clip_id]
    assert client.patch(f"/api/v1/clips/{clip_id}", json={"sha256": "x"}).status_code == 422
    assert client.patch("/api/v1/clips/nope", json={"title": "x"}).status_code == 404


def test_delete_removes_media_revisions_search_rows_and_is_audited(
    library: tuple[httpx.Client, Settings], tmp_path: Path
) -> None:
    client, settings = library
    media = cut_seed(tmp_path / "d.mp4", start_s=40, duration_s=4)
    clip_id = _upload(client, media, title="Удаляемый сюжет")
    sessions = session_factory(settings.sqlalchemy_url)
    storage = make_storage(settings)
    with sessions() as session:
        key = session.get(Clip, clip_id).media_key  # type: ignore[union-attr]
    assert _stored(storage, key)

    assert client.delete(f"/api/v1/clips/{clip_id}").status_code == 204
    assert client.get(f"/api/v1/clips/{clip_id}").status_code == 404
    assert client.delete(f"/api/v1/clips/{clip_id}").status_code == 404
    assert not _stored(storage, key)
    with sessions() as session:
        for table_count in (
            select(func.count())
            .select_from(TranscriptRevision)
            .where(TranscriptRevision.clip_id == clip_id),
            select(func.count())
            .select_from(search_segments)
            .where(search_segments.c.clip_id == clip_id),
        ):
            assert session.scalar(table_count) == 0
        (event,) = session.scalars(select(AuditEvent).where(AuditEvent.clip_id == clip_id))
        assert (event.action, event.actor, event.details["title"]) == (
            "clip.delete",
            "local",
            "Удаляемый сюжет",
        )


def test_only_the_uploader_or_an_admin_deletes(
    make_settings: SettingsFactory, redis_url: str, queue_name: str, tmp_path: Path
) -> None:
    settings = production(make_settings(redis_url=redis_url, queue_name=queue_name))
    add_user(settings, "chief", AccountRole.ADMIN)
    _, anna = add_user(settings, "anna", AccountRole.UPLOADER)
    _, boris = add_user(settings, "boris", AccountRole.EDITOR)
    with running_api(settings) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        media = cut_seed(tmp_path / "e.mp4", start_s=50, duration_s=4)
        with media.open("rb") as file:
            uploaded = client.post(
                "/api/v1/clips", files={"file": (media.name, file)}, headers=bearer(anna)
            )
        clip_id = uploaded.json()["clip_id"]
        refused = client.delete(f"/api/v1/clips/{clip_id}", headers=bearer(boris))
        assert refused.status_code == 403
        assert "Only the clip's uploader or an admin" in refused.json()["detail"]
        assert client.delete(f"/api/v1/clips/{clip_id}", headers=bearer(anna)).status_code == 204


def test_retention_removes_old_media_and_keeps_the_transcript(
    library: tuple[httpx.Client, Settings], tmp_path: Path
) -> None:
    client, settings = library
    word = f"хранение{uuid.uuid4().hex[:4]}"
    clip_id = _upload(client, cut_seed(tmp_path / "f.mp4", start_s=60, duration_s=4))
    sessions = session_factory(settings.sqlalchemy_url)
    storage = make_storage(settings)
    with sessions() as session:
        save_revision(session, clip_id=clip_id, transcript=_one_segment(f"Сегодня {word}"))
        clip = session.get(Clip, clip_id)
        assert clip is not None
        key = clip.media_key
        clip.created_at = utcnow() - timedelta(days=40)
        cut = Cut(
            clip_id=clip_id,
            requested_by="test",
            spec={"format": "mp4", "revision": 1},
            state=CutState.DONE,
            media_key=storage.put_stream([b"a quote's media"], max_bytes=1024).key,
        )
        session.add(cut)
        session.commit()
        cut_id, cut_key = cut.id, cut.media_key
        expired = expire_media(session, storage, older_than_days=30)
    assert clip_id in expired and not _stored(storage, key)
    # A quote cut from it is a copy of that media: it goes too, the cut's record stays.
    assert cut_key and not _stored(storage, cut_key)
    assert client.get(f"/api/v1/cuts/{cut_id}").json()["file_url"] is None
    cut_gone = client.get(f"/api/v1/cuts/{cut_id}/file")
    assert cut_gone.status_code == 404 and "retention" in cut_gone.json()["detail"]
    gone = client.get(f"/api/v1/clips/{clip_id}/media")
    assert gone.status_code == 404 and "retention" in gone.json()["detail"]
    assert client.get(f"/api/v1/clips/{clip_id}").json()["media_removed_at"] is not None
    with sessions() as session:
        assert expire_media(session, storage, older_than_days=30) == []  # once only
    hits = client.get("/api/v1/search", params={"q": word}).json()
    assert [clip["clip_id"] for clip in hits["clips"]] == [clip_id]
    assert client.get(f"/api/v1/transcripts/{clip_id}").status_code == 200


def _one_segment(text: str) -> Transcript:
    return Transcript(
        duration=4.0,
        language="ru",
        model="test",
        speakers=(Speaker("S0", role=SpeakerRole.ANCHOR),),
        segments=(Segment(0, 0.0, 4.0, text, "S0"),),
    )


def _stored(storage: MediaStorage, key: str) -> bool:
    path = storage.path_for(key)
    return path is not None and path.exists()


def test_a_duplicate_is_refused_when_asked_and_errors_come_in_each_language(
    library: tuple[httpx.Client, Settings], tmp_path: Path
) -> None:
    client, _ = library
    media = cut_seed(tmp_path / "g.mp4", start_s=70, duration_s=3)
    first = _upload(client, media, title="Оригинал")
    with media.open("rb") as file:
        refused = client.post(
            "/api/v1/clips", files={"file": (media.name, file)}, data={"on_duplicate": "refuse"}
        )
    assert refused.status_code == 409
    body = refused.json()
    assert (body["code"], body["clip_id"]) == ("duplicate_clip", first)
    assert body["message"] == {
        "ru": "Этот файл уже загружен: «Оригинал».",
        "en": "This file is already in the archive: «Оригинал».",
    }
    assert _upload(client, media) != first  # recorded again by default (API clients)

    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    with junk.open("rb") as file:
        undecodable = client.post("/api/v1/clips", files={"file": (junk.name, file)})
    assert undecodable.status_code == 422
    error = undecodable.json()
    assert error["code"].startswith("media_")
    assert not any("а" <= letter <= "я" for letter in error["message"]["en"].lower())
    assert error["message"]["ru"] and error["detail"].startswith(error["message"]["ru"])
