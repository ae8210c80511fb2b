"""Transcript revisions through the HTTP API: read, export, edit, history, restore;
plus job status, its event stream and the media endpoint."""

from __future__ import annotations

import io
import json
from urllib.parse import quote

import docx
import httpx
import pytest
from sqlalchemy import select
from support.service_support import SEED_DIR, session_factory

from efir.config import Settings
from efir.db import Clip, Job
from efir.jobs.lifecycle import claim_job, create_job, finish_job
from efir.search import SearchQuery, search
from efir.transcripts.model import Segment, Speaker, SpeakerRole, Transcript, Word
from efir.transcripts.revisions import save_job_output

TRANSCRIPT = Transcript(
    duration=8.0,
    language="ru",
    model="test",
    speakers=(
        Speaker("S0", role=SpeakerRole.ANCHOR),
        Speaker("S1", role=SpeakerRole.CORRESPONDENT),
    ),
    segments=(
        Segment(
            0,
            0.5,
            3.0,
            "Добрый вечер, Костанай.",
            "S0",
            (
                Word(0.5, 1.0, " Добрый", 0.9),
                Word(1.0, 1.6, " вечер,", 0.9),
                Word(1.7, 3.0, " Костанай.", 0.8),
            ),
        ),
        Segment(
            1,
            3.5,
            7.5,
            "Аким встретился с фермерами.",
            "S1",
            (
                Word(3.5, 4.2, " Аким", 0.9),
                Word(4.3, 5.4, " встретился", 0.9),
                Word(5.5, 5.7, " с", 0.9),
                Word(5.8, 7.5, " фермерами.", 0.9),
            ),
        ),
    ),
)


@pytest.fixture
def clip_with_transcript(api_client: tuple[httpx.Client, Settings]) -> tuple[httpx.Client, str]:
    """A clip whose worker job is done, saved through the store as revision 1."""
    client, settings = api_client
    sessions = session_factory(settings.sqlalchemy_url)
    with sessions() as session:
        clip = Clip(
            sha256="b" * 64,
            original_filename="вечер.mp4",
            media_key="k",
            size_bytes=1,
            title="Вечерние новости",
        )
        session.add(clip)
        session.flush()
        job = create_job(session, clip_id=clip.id)
        claim_job(session, job.id)
        save_job_output(session, clip_id=clip.id, job_id=job.id, transcript=TRANSCRIPT)
        save_job_output(session, clip_id=clip.id, job_id=job.id, transcript=TRANSCRIPT)
        finish_job(session, job.id)
        return client, clip.id


def test_a_rerun_job_replaces_its_own_revision(
    clip_with_transcript: tuple[httpx.Client, str],
) -> None:
    client, clip_id = clip_with_transcript
    history = client.get(f"/api/v1/transcripts/{clip_id}/revisions").json()
    assert [r["revision"] for r in history] == [1]


def test_edit_export_history_and_restore(clip_with_transcript: tuple[httpx.Client, str]) -> None:
    client, clip_id = clip_with_transcript
    current = client.get(f"/api/v1/transcripts/{clip_id}").json()
    assert (current["clip_id"], current["revision"]) == (clip_id, 1)
    assert Transcript.from_dict(current) == TRANSCRIPT

    edit = {"op": "set_text", "segment_id": 1, "text": "Аким встретился с аграриями."}
    response = client.patch(
        f"/api/v1/transcripts/{clip_id}",
        json={"base_revision": 1, "ops": [edit], "author": "редактор"},
    )
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["revision"] == 2
    assert edited["segments"][1]["text"] == "Аким встретился с аграриями."
    # Unchanged words keep their exact timestamps.
    word = edited["segments"][1]["words"][0]
    assert (word["start"], word["end"], word["word"].strip()) == (3.5, 4.2, "Аким")

    srt = client.get(f"/api/v1/transcripts/{clip_id}/export", params={"format": "srt"})
    assert srt.status_code == 200
    assert "аграриями" in srt.text and "фермерами" not in srt.text
    old = client.get(f"/api/v1/transcripts/{clip_id}/export?format=txt&revision=1")
    assert "фермерами" in old.text

    stale = client.patch(f"/api/v1/transcripts/{clip_id}", json={"base_revision": 1, "ops": [edit]})
    assert stale.status_code == 409
    assert "latest is 2" in stale.json()["detail"]

    history = client.get(f"/api/v1/transcripts/{clip_id}/revisions").json()
    # The author sent is ignored: local mode's one account made the edit.
    assert [(r["revision"], r["author"]) for r in history] == [(2, "local"), (1, "efir-worker")]

    restored = client.post(f"/api/v1/transcripts/{clip_id}/revisions/1/restore").json()
    assert restored["revision"] == 3
    assert Transcript.from_dict(restored) == TRANSCRIPT
    assert client.get(f"/api/v1/transcripts/{clip_id}").json()["revision"] == 3


def test_search_follows_the_latest_revision(
    api_client: tuple[httpx.Client, Settings], clip_with_transcript: tuple[httpx.Client, str]
) -> None:
    client, clip_id = clip_with_transcript
    _, settings = api_client
    sessions = session_factory(settings.sqlalchemy_url)

    def hits(word: str) -> int:
        with sessions() as session:
            return search(session, SearchQuery(text=word)).hit_count

    assert hits("фермер") == 1
    edit = {"op": "set_text", "segment_id": 1, "text": "Аким встретился с аграриями."}
    client.patch(f"/api/v1/transcripts/{clip_id}", json={"base_revision": 1, "ops": [edit]})
    assert (hits("фермер"), hits("аграрий")) == (0, 1)


@pytest.mark.parametrize(
    ("request_body", "status", "message"),
    [
        ({"base_revision": 1, "ops": [{"op": "explode"}]}, 422, "expected tags"),
        ({"base_revision": 1, "ops": [{"op": "set_text", "segment_id": 9, "text": "x"}]}, 422, "9"),
        ({"base_revision": 0, "ops": [{"op": "merge"}]}, 422, "base_revision"),
    ],
)
def test_bad_edits_are_refused(
    clip_with_transcript: tuple[httpx.Client, str],
    request_body: dict[str, object],
    status: int,
    message: str,
) -> None:
    client, clip_id = clip_with_transcript
    response = client.patch(f"/api/v1/transcripts/{clip_id}", json=request_body)
    assert response.status_code == status
    assert message in json.dumps(response.json()["detail"], ensure_ascii=False)
    assert client.get(f"/api/v1/transcripts/{clip_id}").json()["revision"] == 1


def test_exports_are_named_by_date_programme_and_title(
    clip_with_transcript: tuple[httpx.Client, str],
) -> None:
    client, clip_id = clip_with_transcript
    edited = client.patch(
        f"/api/v1/clips/{clip_id}", json={"programme": "Итоги недели", "air_date": "2026-11-20"}
    )
    assert edited.status_code == 200, edited.text
    srt = client.get(f"/api/v1/transcripts/{clip_id}/export", params={"format": "srt"})
    name = "2026-11-20_Итоги-недели_Вечерние-новости.srt"
    assert srt.headers["content-disposition"] == (
        'attachment; filename="2026-11-20_Itogi-nedeli_Vecherniye-novosti.srt"; '
        f"filename*=UTF-8''{quote(name)}"
    )
    latin = client.get(
        f"/api/v1/transcripts/{clip_id}/export", params={"format": "txt", "transliterate": "true"}
    )
    assert (
        "filename*=UTF-8''2026-11-20_Itogi-nedeli_Vecherniye-novosti.txt"
        in (latin.headers["content-disposition"])
    )
    document = docx.Document(
        io.BytesIO(client.get(f"/api/v1/transcripts/{clip_id}/export?format=docx").content)
    )
    assert document.paragraphs[0].text == "Вечерние новости"
    assert document.paragraphs[1].text == "Программа: Итоги недели · Эфир: 20.11.2026"


def test_unknown_things_are_404_and_bad_export_options_422(
    clip_with_transcript: tuple[httpx.Client, str],
) -> None:
    client, clip_id = clip_with_transcript
    for path in (
        "/api/v1/transcripts/nope",
        "/api/v1/jobs/nope",
        "/api/v1/clips/nope",
        f"/api/v1/transcripts/{clip_id}?revision=7",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["detail"]
    bad_format = client.get(f"/api/v1/transcripts/{clip_id}/export?format=mp3")
    assert bad_format.status_code == 422
    bad_rule = client.get(f"/api/v1/transcripts/{clip_id}/export?format=srt&max_lines=two")
    assert bad_rule.status_code == 422
    bad_numbers = client.get(f"/api/v1/transcripts/{clip_id}/export?format=srt&numbers=roman")
    assert bad_numbers.status_code == 422
    assert "чисел" in bad_numbers.json()["detail"]


def test_export_writes_numbers_as_digits_on_request(
    clip_with_transcript: tuple[httpx.Client, str],
) -> None:
    client, clip_id = clip_with_transcript
    edit = {"op": "set_text", "segment_id": 1, "text": "Аким встретился с сорока фермерами."}
    response = client.patch(
        f"/api/v1/transcripts/{clip_id}", json={"base_revision": 1, "ops": [edit]}
    )
    assert response.status_code == 200, response.text
    export = f"/api/v1/transcripts/{clip_id}/export?format=srt"
    assert "с сорока фермерами" in client.get(export).text
    digits = client.get(export + "&numbers=digits").text
    assert "с 40 фермерами" in digits and "сорока" not in digits


def test_job_listing_and_event_stream(api_client: tuple[httpx.Client, Settings]) -> None:
    client, _ = api_client
    media = (SEED_DIR / "seed.wav").read_bytes()
    job = client.post("/api/v1/clips", files={"file": ("seed.wav", media)}).json()
    assert job["state"] == "queued"
    listed = client.get("/api/v1/jobs").json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == job["id"]

    sessions = session_factory(api_client[1].sqlalchemy_url)
    with sessions() as session:
        claim_job(session, job["id"])
        finish_job(session, job["id"])
    with client.stream("GET", f"/api/v1/jobs/{job['id']}/events") as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        data = [line[6:] for line in events.iter_lines() if line.startswith("data: ")]
    assert [json.loads(item)["state"] for item in data] == ["done"]


def test_media_is_served_with_ranges(api_client: tuple[httpx.Client, Settings]) -> None:
    client, _ = api_client
    media = (SEED_DIR / "seed.wav").read_bytes()
    job = client.post("/api/v1/clips", files={"file": ("seed.wav", media)}).json()
    whole = client.get(f"/api/v1/clips/{job['clip_id']}/media")
    assert whole.content == media
    assert whole.headers["content-type"] == "audio/wav"
    part = client.get(f"/api/v1/clips/{job['clip_id']}/media", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == media[100:200]


def test_a_replacement_can_join_the_clips_glossary(
    clip_with_transcript: tuple[httpx.Client, str], api_client: tuple[httpx.Client, Settings]
) -> None:
    """The glossary lives in the clip's job options, where a re-run of the job reads it."""
    client, clip_id = clip_with_transcript
    sessions = session_factory(api_client[1].sqlalchemy_url)

    def glossary() -> list[str]:
        with sessions() as session:
            job = session.scalars(select(Job).where(Job.clip_id == clip_id)).one()
            return list(job.options.get("glossary", []))

    plain = {"op": "replace_word", "find": "Костанай", "replace": "Кустанай"}
    response = client.patch(
        f"/api/v1/transcripts/{clip_id}", json={"base_revision": 1, "ops": [plain]}
    )
    assert response.status_code == 200, response.text
    assert glossary() == []
    back = {
        "op": "replace_word",
        "find": "Кустанай",
        "replace": "Костанай",
        "add_to_glossary": True,
    }
    for revision in (2, 3):  # twice: the term is kept once
        response = client.patch(
            f"/api/v1/transcripts/{clip_id}", json={"base_revision": revision, "ops": [back]}
        )
        assert response.status_code == 200, response.text
    assert response.json()["segments"][0]["text"] == "Добрый вечер, Костанай."
    assert glossary() == ["Костанай"]
    # A clip of a programme teaches the programme: its next clips get the term too.
    programme = {"programme": "Вечерние новости"}
    assert client.patch(f"/api/v1/clips/{clip_id}", json=programme).status_code == 200
    again = {**back, "find": "Костанай", "replace": "Костанай"}
    response = client.patch(
        f"/api/v1/transcripts/{clip_id}", json={"base_revision": 4, "ops": [again]}
    )
    assert response.status_code == 200, response.text
    learned = client.get("/api/v1/programme-glossary", params=programme).json()
    assert learned["terms"] == ["Костанай"]


def test_a_retime_moves_the_srt_and_is_a_revision(
    clip_with_transcript: tuple[httpx.Client, str],
) -> None:
    client, clip_id = clip_with_transcript
    retime = {"op": "set_bounds", "segment_id": 1, "start": 3.2, "end": 7.0}
    response = client.patch(
        f"/api/v1/transcripts/{clip_id}", json={"base_revision": 1, "ops": [retime]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["revision"] == 2
    words = response.json()["segments"][1]["words"]
    assert words[0]["start"] == 3.2 and words[-1]["end"] == 7.0
    srt = client.get(f"/api/v1/transcripts/{clip_id}/export", params={"format": "srt"}).text
    old = client.get(f"/api/v1/transcripts/{clip_id}/export?format=srt&revision=1").text
    # Both turns share one cue; it now ends where the retimed segment does.
    assert "--> 00:00:07,000" in srt and "--> 00:00:07,000" not in old
    overlap = {"op": "set_bounds", "segment_id": 1, "start": 2.0, "end": 7.0}
    refused = client.patch(
        f"/api/v1/transcripts/{clip_id}", json={"base_revision": 2, "ops": [overlap]}
    )
    assert refused.status_code == 422 and "overlap" in refused.text
