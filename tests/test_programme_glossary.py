"""A programme's glossary (efir.programme_glossary): kept per programme, put before each
upload's own terms, learned from the upload form and from editors' replacements."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from support.auth_support import add_user, bearer, production
from support.service_support import SEED_DIR, SettingsFactory, running_api, session_factory
from test_search_support import BACKENDS, empty_database

from efir.accounts.users import AccountRole
from efir.config import Settings
from efir.db import AuditEvent, make_engine, make_session_factory, migrate
from efir.jobs.lifecycle import get_job
from efir.programme_glossary import add_programme_terms, programme_glossary
from worker.pipeline import pipeline_options_for_job

GLOSSARY = "/api/v1/programme-glossary"


def _upload(client: httpx.Client, fields: dict[str, str]) -> httpx.Response:
    with (SEED_DIR / "seed.wav").open("rb") as media:
        return client.post("/api/v1/clips", files={"file": ("seed.wav", media)}, data=fields)


def test_a_programmes_terms_go_before_each_uploads_own(
    api_client: tuple[httpx.Client, Settings],
) -> None:
    client, settings = api_client
    evening = {"programme": "Вечерние новости"}
    assert client.get(GLOSSARY, params=evening).json() == {**evening, "terms": []}
    put = client.put(GLOSSARY, json={**evening, "terms": ["Спанов", "Костанай", "Спанов"]})
    assert put.status_code == 200, put.text
    assert put.json()["terms"] == ["Спанов", "Костанай"]
    # The name as compared: case and spacing aside.
    again = client.get(GLOSSARY, params={"programme": " вечерние  НОВОСТИ "}).json()
    assert again["terms"] == ["Спанов", "Костанай"]

    upload = _upload(client, {**evening, "glossary": "Тобол\nКостанай"})
    assert upload.status_code == 202, upload.text
    with session_factory(settings.sqlalchemy_url)() as session:
        job = get_job(session, upload.json()["id"])
    # The clip's own terms last: the decoder's prompt keeps the last ones.
    assert job.options["glossary"] == ["Спанов", "Тобол", "Костанай"]
    glossary = pipeline_options_for_job(settings, job.options).glossary
    assert glossary.prompt == "Спанов, Тобол, Костанай."

    # «Запомнить словарь для программы»: the upload's terms become the programme's.
    morning = {"programme": "Утро", "glossary": "Акимат", "remember_glossary": "true"}
    assert _upload(client, morning).status_code == 202
    assert client.get(GLOSSARY, params={"programme": "Утро"}).json()["terms"] == ["Акимат"]


def test_a_programme_glossary_refuses_what_it_cannot_keep(
    api_client: tuple[httpx.Client, Settings],
) -> None:
    client, _ = api_client
    no_programme = _upload(client, {"glossary": "Акимат", "remember_glossary": "true"})
    assert no_programme.status_code == 400
    assert "remember_glossary needs a programme" in no_programme.text
    assert _upload(client, {"programme": "Утро", "remember_glossary": "да"}).status_code == 400
    for body in (
        {"programme": "   ", "terms": ["Акимат"]},
        {"programme": "Утро", "terms": ["Акимат\nСпанов"]},
        {"programme": "Утро", "terms": ["x" * 301]},
        {"programme": "Утро\x00", "terms": ["Акимат"]},
        {"programme": "Утро", "terms": ["  "]},
        {"programme": "Утро", "terms": "Акимат"},
    ):
        assert client.put(GLOSSARY, json=body).status_code == 422, body
    assert client.get(GLOSSARY, params={"programme": ""}).status_code == 422


def test_only_editors_replace_a_programme_glossary(
    make_settings: SettingsFactory, redis_url: str, queue_name: str
) -> None:
    settings = production(make_settings(redis_url=redis_url, queue_name=queue_name))
    add_user(settings, "chief", AccountRole.ADMIN)
    _, uploader = add_user(settings, "anna", AccountRole.UPLOADER)
    _, editor = add_user(settings, "boris", AccountRole.EDITOR)
    body = {"programme": "Утро", "terms": ["Акимат"]}
    with running_api(settings) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        assert client.put(GLOSSARY, json=body, headers=bearer(uploader)).status_code == 403
        assert client.put(GLOSSARY, json=body, headers=bearer(editor)).status_code == 200
        changed = {"programme": "Утро", "terms": ["Тобол"]}
        assert client.put(GLOSSARY, json=changed, headers=bearer(editor)).status_code == 200
        read = client.get(GLOSSARY, params={"programme": "Утро"}, headers=bearer(uploader))
        assert read.json()["terms"] == ["Тобол"]
        assert client.get(GLOSSARY, params={"programme": "Утро"}).status_code == 401
    # What an editor took out, every later clip of the programme goes without: logged.
    with session_factory(settings.sqlalchemy_url)() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert {(e.actor, e.action) for e in events} == {("boris", "programme_glossary.replace")}
    assert [e.details for e in events] == [
        {"programme": "Утро", "added": ["Акимат"], "removed": []},
        {"programme": "Утро", "added": ["Тобол"], "removed": ["Акимат"]},
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_uploads_at_once_all_teach_a_new_programme(backend: str, tmp_path: Path) -> None:
    """Two uploads may be the first of a programme together: neither fails on the other's
    new row, and neither term is lost."""
    with empty_database(backend, tmp_path, "efir_programme_test") as url:
        migrate(url)
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        first, second = sessions(), sessions()

        def teach_second() -> None:
            add_programme_terms(second, "новости  области", ["Тобол"])
            second.commit()

        try:
            add_programme_terms(first, "Новости области", ["Спанов"])
            # The second waits for the first's row on PostgreSQL, for its write on SQLite.
            with ThreadPoolExecutor(max_workers=1) as pool:
                later = pool.submit(teach_second)
                time.sleep(0.5)  # so the second is waiting when the first commits
                first.commit()
                later.result(timeout=30)
        finally:
            first.close()
            second.close()
        with sessions() as session:
            assert programme_glossary(session, "Новости области") == ("Спанов", "Тобол")
        engine.dispose()
