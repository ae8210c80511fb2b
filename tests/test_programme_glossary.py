"""A programme's glossary (efir.programme_glossary): kept per programme, put before each
upload's own terms, learned from the upload form and from editors' replacements."""

from __future__ import annotations

import httpx
from support.auth_support import add_user, bearer, production
from support.service_support import SEED_DIR, SettingsFactory, running_api, session_factory

from efir.accounts.users import AccountRole
from efir.config import Settings
from efir.jobs.lifecycle import get_job
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
        read = client.get(GLOSSARY, params={"programme": "Утро"}, headers=bearer(uploader))
        assert read.json()["terms"] == ["Акимат"]
        assert client.get(GLOSSARY, params={"programme": "Утро"}).status_code == 401
