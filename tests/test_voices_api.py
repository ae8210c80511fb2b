"""The voices API and the registry's editor paths over HTTP, on SQLite and PostgreSQL.

The clip here is stored directly (a transcript revision and its speakers' voiceprints)
so the test needs no model run; the prints are orthogonal unit vectors, which keeps
the expected centroid arithmetic exact. tests/test_e2e.py drives the same paths with
real diarized voices through the worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import delete
from support.service_support import SEED_DIR, SettingsFactory, running_api, session_factory

from efir.config import Settings
from efir.db import Clip, Voice
from efir.jobs.lifecycle import get_job
from efir.transcripts.model import Segment, Speaker, SpeakerRole, Transcript
from efir.transcripts.revisions import save_revision
from efir.voices.registry import VoicePrint
from efir.voices.voiceprints import load_voiceprints, store_voiceprints

ANCHOR_PRINT = np.array([1.0, 0.0, 0.0], dtype=np.float32)
GUEST_PRINT = np.array([0.0, 1.0, 0.0], dtype=np.float32)


@pytest.fixture
def service(
    database_url: str, make_settings: SettingsFactory
) -> Iterator[tuple[httpx.Client, str]]:
    """A live API over a database holding one transcribed clip; yields (client, clip id)."""
    settings = make_settings(database_url=database_url)
    sessions = session_factory(settings.sqlalchemy_url)
    with sessions() as session:
        session.execute(delete(Voice))  # the PostgreSQL database is shared by the run
        clip = Clip(sha256="0" * 64, original_filename="news.mp4", media_key="k", size_bytes=1)
        session.add(clip)
        session.flush()
        transcript = Transcript(
            duration=20.0,
            language="ru",
            model="test",
            segments=(
                Segment(0, 0.0, 8.0, "Добрый вечер.", speaker="S1"),
                Segment(1, 8.5, 20.0, "Мы начали работу.", speaker="S2"),
            ),
            speakers=(
                Speaker("S1", role=SpeakerRole.ANCHOR),
                Speaker("S2", role=SpeakerRole.OTHER),
            ),
        )
        store_voiceprints(
            session,
            clip.id,
            {"S1": VoicePrint(ANCHOR_PRINT, 8.0), "S2": VoicePrint(GUEST_PRINT, 11.5)},
        )
        save_revision(session, clip_id=clip.id, transcript=transcript)
        clip_id = clip.id
    with running_api(settings) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        yield client, clip_id


def rename(client: httpx.Client, clip_id: str, **fields: str) -> dict[str, Any]:
    revision = client.get(f"/api/v1/transcripts/{clip_id}").json()["revision"]
    response = client.patch(
        f"/api/v1/transcripts/{clip_id}",
        json={"base_revision": revision, "ops": [{"op": "rename_speaker", **fields}]},
    )
    assert response.status_code == 200, response.text
    return response.json()


def speaker(payload: dict[str, Any], speaker_id: str) -> dict[str, Any]:
    return next(s for s in payload["speakers"] if s["id"] == speaker_id)


def test_naming_a_speaker_teaches_the_registry(service: tuple[httpx.Client, str]) -> None:
    client, clip_id = service
    assert client.get("/api/v1/voices").json() == []

    named = rename(client, clip_id, speaker_id="S2", name="Ерлан СПАНОВ", title="ЗАМ. АКИМА")
    voices = client.get("/api/v1/voices").json()
    assert [(v["name"], v["title"], v["samples"]) for v in voices] == [
        ("Ерлан СПАНОВ", "ЗАМ. АКИМА", 12)  # 11.5 s of speech behind the print
    ]
    assert speaker(named, "S2")["voice_id"] == voices[0]["id"]
    assert speaker(named, "S1")["voice_id"] is None

    # A title fix, with or without the unchanged name, is not a new sighting of the voice.
    rename(client, clip_id, speaker_id="S2", title="ЗАМЕСТИТЕЛЬ АКИМА")
    retitled = rename(client, clip_id, speaker_id="S2", name="Ерлан СПАНОВ", title="ЗАМ. АКИМА")
    assert client.get("/api/v1/voices").json()[0]["samples"] == 12
    assert speaker(retitled, "S2")["voice_id"] == voices[0]["id"]
    # A corrected name refines and renames the same voice rather than adding a second one.
    rename(client, clip_id, speaker_id="S2", name="Ерлан СПАНОВ-мл.")
    voices = client.get("/api/v1/voices").json()
    assert [(v["name"], v["samples"]) for v in voices] == [("Ерлан СПАНОВ-мл.", 24)]


def test_voice_rename_merge_and_delete(service: tuple[httpx.Client, str]) -> None:
    client, clip_id = service
    rename(client, clip_id, speaker_id="S1", name="Анна ВЕДУЩАЯ")
    rename(client, clip_id, speaker_id="S2", name="Гость")
    by_name = {v["name"]: v for v in client.get("/api/v1/voices").json()}
    anchor, guest = by_name["Анна ВЕДУЩАЯ"], by_name["Гость"]
    assert anchor["role"] == "anchor"

    patched = client.patch(
        f"/api/v1/voices/{guest['id']}", json={"name": "Ерлан СПАНОВ", "role": "interviewee"}
    )
    assert patched.status_code == 200
    assert (patched.json()["name"], patched.json()["role"]) == ("Ерлан СПАНОВ", "interviewee")
    assert client.get(f"/api/v1/voices/{guest['id']}").json()["name"] == "Ерлан СПАНОВ"
    assert client.patch(f"/api/v1/voices/{guest['id']}", json={"role": "chef"}).status_code == 422

    merged = client.post(f"/api/v1/voices/{anchor['id']}/merge", json={"other_id": guest["id"]})
    assert merged.status_code == 200
    assert merged.json()["samples"] == anchor["samples"] + guest["samples"]
    assert client.get(f"/api/v1/voices/{guest['id']}").status_code == 404

    before = client.get(f"/api/v1/transcripts/{clip_id}").json()
    assert client.delete(f"/api/v1/voices/{anchor['id']}").status_code == 204
    assert client.get("/api/v1/voices").json() == []
    assert client.delete(f"/api/v1/voices/{anchor['id']}").status_code == 404
    # Forgetting voices never touches transcripts.
    assert client.get(f"/api/v1/transcripts/{clip_id}").json() == before


def test_a_voice_rename_reaches_existing_clips_and_search(
    service: tuple[httpx.Client, str],
) -> None:
    client, clip_id = service
    rename(client, clip_id, speaker_id="S2", name="Ерлан СПАНОВ", title="ЗАМ. АКИМА")
    rename(client, clip_id, speaker_id="S1", name="Анна ВЕДУЩАЯ")  # another voice: untouched
    voice = next(v for v in client.get("/api/v1/voices").json() if v["name"] == "Ерлан СПАНОВ")
    client.patch(
        f"/api/v1/voices/{voice['id']}", json={"name": "Ерлан СПАНОВ-мл.", "title": "АКИМ"}
    )
    # Renaming the registry voice alone leaves the clip as it was.
    assert speaker(client.get(f"/api/v1/transcripts/{clip_id}").json(), "S2")["name"] == (
        "Ерлан СПАНОВ"
    )

    applied = client.post(f"/api/v1/voices/{voice['id']}/apply")
    assert applied.status_code == 200, applied.text
    assert clip_id in applied.json()["clip_ids"]  # the shared PostgreSQL may hold others
    current = client.get(f"/api/v1/transcripts/{clip_id}").json()
    assert (speaker(current, "S2")["name"], speaker(current, "S2")["title"]) == (
        "Ерлан СПАНОВ-мл.",
        "АКИМ",
    )
    assert speaker(current, "S1")["name"] == "Анна ВЕДУЩАЯ"
    history = client.get(f"/api/v1/transcripts/{clip_id}/revisions").json()
    assert history[0]["note"] == f"voice {voice['id']} renamed"
    hits = client.get("/api/v1/search", params={"q": "работу", "speaker": "спанов-мл"}).json()
    assert clip_id in [c["clip_id"] for c in hits["clips"]]
    # Applying again changes nothing more.
    assert clip_id not in client.post(f"/api/v1/voices/{voice['id']}/apply").json()["clip_ids"]


def test_setting_a_speaker_to_a_registry_voice(
    service: tuple[httpx.Client, str], database_url: str
) -> None:
    client, clip_id = service
    rename(client, clip_id, speaker_id="S2", name="Ерлан СПАНОВ", title="ЗАМ. АКИМА")
    voice = client.get("/api/v1/voices").json()[0]
    client.patch(f"/api/v1/voices/{voice['id']}", json={"role": "interviewee"})

    response = client.post(
        f"/api/v1/transcripts/{clip_id}/speakers/S1/voice", json={"voice_id": voice["id"]}
    )
    assert response.status_code == 200, response.text
    payload = response.json()
    assert (speaker(payload, "S1")["name"], speaker(payload, "S1")["caption"]) == (
        "Ерлан СПАНОВ",
        "Ерлан СПАНОВ, ЗАМ. АКИМА",
    )
    assert speaker(payload, "S1")["role"] == "interviewee"
    assert speaker(payload, "S1")["voice_id"] == voice["id"]
    assert payload["revision"] == 3
    # The voice learned the anchor's print too: 12 + 8 seconds, centroid between them.
    learned = client.get(f"/api/v1/voices/{voice['id']}").json()
    assert learned["samples"] == 20
    with session_factory(database_url)() as session:
        centroid = np.array(session.get(Voice, voice["id"]).centroid)
        assert set(load_voiceprints(session, clip_id)) == {"S1", "S2"}
    assert centroid[0] > 0 and centroid[1] > 0 and abs(np.linalg.norm(centroid) - 1) < 1e-6

    missing_voice = client.post(
        f"/api/v1/transcripts/{clip_id}/speakers/S1/voice", json={"voice_id": "nope"}
    )
    missing_speaker = client.post(
        f"/api/v1/transcripts/{clip_id}/speakers/S9/voice", json={"voice_id": voice["id"]}
    )
    assert missing_voice.status_code == 404 and missing_speaker.status_code == 404
    assert client.get(f"/api/v1/transcripts/{clip_id}").json()["revision"] == 3


def test_voiceprints_are_replaced_not_added(database_url: str) -> None:
    sessions = session_factory(database_url)
    with sessions() as session:
        clip = Clip(sha256="1" * 64, original_filename="a.wav", media_key="a", size_bytes=1)
        session.add(clip)
        session.flush()
        store_voiceprints(session, clip.id, {"S1": VoicePrint(ANCHOR_PRINT, 3.0)})
        store_voiceprints(
            session,
            clip.id,
            {"S1": VoicePrint(GUEST_PRINT, 4.0), "S2": VoicePrint(ANCHOR_PRINT, 1.0)},
        )
        session.commit()
        prints = load_voiceprints(session, clip.id)
    assert set(prints) == {"S1", "S2"}
    assert prints["S1"].speech_s == 4.0 and np.allclose(prints["S1"].centroid, GUEST_PRINT)


@pytest.mark.parametrize(
    ("fields", "accepted"),
    [
        ({"min_speakers": "2", "max_speakers": "6"}, True),
        ({"min_speakers": "5", "max_speakers": "2"}, False),
        ({"max_speakers": "0"}, False),
        ({"min_speakers": "два"}, False),
    ],
)
def test_speaker_count_hints_at_upload(
    api_client: tuple[httpx.Client, Settings], fields: dict[str, str], accepted: bool
) -> None:
    client, settings = api_client
    with (SEED_DIR / "seed.wav").open("rb") as media:
        response = client.post("/api/v1/clips", files={"file": ("seed.wav", media)}, data=fields)
    if not accepted:
        assert response.status_code == 400, response.text
        return
    assert response.status_code == 202, response.text
    with session_factory(settings.sqlalchemy_url)() as session:
        options = get_job(session, response.json()["id"]).options
    assert (options["min_speakers"], options["max_speakers"]) == (2, 6)


def test_a_voice_forgets_one_clip(service: tuple[httpx.Client, str], database_url: str) -> None:
    """The registry records what each voice learned from which clip; forgetting a clip
    takes exactly its prints back out."""
    client, clip_id = service
    rename(client, clip_id, speaker_id="S2", name="Ерлан СПАНОВ")
    voice = client.get("/api/v1/voices").json()[0]
    assert voice["clip_count"] == 1
    assert client.get(f"/api/v1/voices/{voice['id']}/clips").json() == [
        {"clip_id": clip_id, "title": None, "seconds": 12}
    ]

    # A second clip's speaker, wrongly set to this voice by an editor, teaches it too.
    with session_factory(database_url)() as session:
        other = Clip(sha256="1" * 64, original_filename="other.mp4", media_key="k2", size_bytes=1)
        other.title = "Другой сюжет"
        session.add(other)
        session.flush()
        store_voiceprints(session, other.id, {"S1": VoicePrint(ANCHOR_PRINT, 6.0)})
        save_revision(
            session,
            clip_id=other.id,
            transcript=Transcript(
                duration=6.0,
                language="ru",
                model="test",
                segments=(Segment(0, 0.0, 6.0, "Здравствуйте.", speaker="S1"),),
                speakers=(Speaker("S1"),),
            ),
        )
        session.commit()
        other_id = other.id
    response = client.post(
        f"/api/v1/transcripts/{other_id}/speakers/S1/voice", json={"voice_id": voice["id"]}
    )
    assert response.status_code == 200, response.text
    learned = client.get(f"/api/v1/voices/{voice['id']}").json()
    assert (learned["samples"], learned["clip_count"]) == (18, 2)
    clips = client.get(f"/api/v1/voices/{voice['id']}/clips").json()
    assert [c["clip_id"] for c in clips] == [other_id, clip_id]
    assert clips[0]["title"] == "Другой сюжет"

    forgot = client.delete(f"/api/v1/voices/{voice['id']}/clips/{other_id}")
    assert forgot.status_code == 200, forgot.text
    assert (forgot.json()["samples"], forgot.json()["clip_count"]) == (12, 1)
    with session_factory(database_url)() as session:
        centroid = np.array(session.get(Voice, voice["id"]).centroid)
    assert np.allclose(centroid, GUEST_PRINT, atol=1e-6)  # the guest's voice alone again

    missing = client.delete(f"/api/v1/voices/{voice['id']}/clips/{other_id}")
    assert missing.status_code == 404
    assert client.delete(f"/api/v1/voices/{voice['id']}/clips/{clip_id}").json() is None
    assert client.get(f"/api/v1/voices/{voice['id']}").status_code == 404
