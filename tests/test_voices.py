"""Speaker registry: voices named in one clip come back named in the next.

The seed is diarized, its captions read and its correspondent named by an
"editor"; fixtures/second (rendered by the kit with the seed's correspondent
voice `f_korr`, a different anchor and a new interviewee) must then come back
with the correspondent named from the registry and nobody else. Real model,
real OCR, real SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker
from support.der import read_wav_16k, truth_transcript
from support.service_support import session_factory

from efir.db import Voice
from efir.errors import NotFoundError
from efir.transcripts.model import SpeakerRole, Transcript
from efir.voices.registry import (
    MATCH_THRESHOLD,
    assign_voice,
    delete_voice,
    dump_centroids,
    get_voice,
    list_voices,
    load_centroids,
    match_centroids,
    match_speakers,
    merge_voices,
    merged_centroid,
    remember_voices,
    rename_voice,
)
from worker.stages.captions import read_captions
from worker.stages.diarize import Diarization, diarize
from worker.stages.roles import assign_roles

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
KORR_NAME = "Алия НУРЛАНОВА"


def _voices_by_speaker(result: Diarization, clip: str) -> dict[str, str]:
    """Diarized speaker id → the kit voice preset that spoke most of its words."""
    truth = json.loads((FIXTURES / clip / f"{clip}.truth.json").read_text(encoding="utf-8"))

    def voice_at(time_s: float) -> str | None:
        return next((t["voice"] for t in truth["turns"] if t["start"] <= time_s <= t["end"]), None)

    owners = {}
    for speaker in result.transcript.speakers:
        words = [w for s in result.transcript.segments if s.speaker == speaker.id for w in s.words]
        owners[speaker.id] = Counter(voice_at((w.start + w.end) / 2) for w in words).most_common(1)[
            0
        ][0]
    return owners


def _diarized(clip: str) -> Diarization:
    folder = FIXTURES / clip
    return diarize(
        truth_transcript(folder / f"{clip}.truth.json"), read_wav_16k(folder / f"{clip}.wav")
    )


@pytest.fixture(scope="module")
def seed() -> tuple[Diarization, Transcript]:
    """The seed as the pipeline leaves it, then the editor names the correspondent."""
    diarization = _diarized("seed")
    transcript = assign_roles(read_captions(diarization.transcript, FIXTURES / "seed" / "seed.mp4"))
    korr = next(s for s in transcript.speakers if s.role is SpeakerRole.CORRESPONDENT)
    assert _voices_by_speaker(diarization, "seed")[korr.id] == "f_korr"
    named = tuple(
        replace(s, name=KORR_NAME, title="корреспондент") if s.id == korr.id else s
        for s in transcript.speakers
    )
    return diarization, replace(transcript, speakers=named)


@pytest.fixture(scope="module")
def second() -> Diarization:
    return _diarized("second")


@pytest.fixture
def registry(database_url: str) -> sessionmaker[Session]:
    """Sessions on an empty registry (the PostgreSQL database lives for the whole run)."""
    factory = session_factory(database_url)
    with factory() as session:
        session.execute(delete(Voice))
        session.commit()
    return factory


def test_threshold_separates_same_and_different_voices(
    seed: tuple[Diarization, Transcript], second: Diarization
) -> None:
    seed_voice = _voices_by_speaker(seed[0], "seed")
    second_voice = _voices_by_speaker(second, "second")
    for a, va in seed[0].centroids.items():
        for b, vb in second.centroids.items():
            similarity = float(va @ vb)
            if seed_voice[a] == second_voice[b]:
                assert similarity >= MATCH_THRESHOLD + 0.04, (seed_voice[a], similarity)
            else:
                assert similarity < MATCH_THRESHOLD - 0.03, (seed_voice[a], second_voice[b])


def test_correspondent_comes_back_named(
    registry: sessionmaker[Session], seed: tuple[Diarization, Transcript], second: Diarization
) -> None:
    seed_diarization, seed_transcript = seed
    with registry() as session:
        remembered = remember_voices(
            session, seed_transcript, seed_diarization.centroids, seed_diarization.speech_s
        )
        session.commit()
        assert all(bool(s.voice_id) == bool(s.name) for s in remembered.speakers)
        voices = session.scalars(select(Voice)).all()
        assert sorted(v.name for v in voices) == sorted(
            s.name for s in remembered.speakers if s.name
        )
        assert len(voices) == 4  # three captioned interviewees and the named correspondent

    with registry() as session:
        matched = match_speakers(session, second.transcript, second.centroids)
    second_voice = _voices_by_speaker(second, "second")
    for speaker in matched.speakers:
        if second_voice[speaker.id] == "f_korr":
            assert speaker.name == KORR_NAME
            assert speaker.role is SpeakerRole.CORRESPONDENT
            assert speaker.voice_id is not None
        else:
            assert speaker.name is None and speaker.voice_id is None


def test_confirming_a_voice_refines_it_instead_of_duplicating(
    registry: sessionmaker[Session], seed: tuple[Diarization, Transcript], second: Diarization
) -> None:
    seed_diarization, seed_transcript = seed
    with registry() as session:
        remember_voices(
            session, seed_transcript, seed_diarization.centroids, seed_diarization.speech_s
        )
        session.commit()
        matched = match_speakers(session, second.transcript, second.centroids)
        korr_voice = session.scalars(select(Voice).where(Voice.name == KORR_NAME)).one()
        samples_before, centroid_before = korr_voice.samples, np.array(korr_voice.centroid)

        remember_voices(session, matched, second.centroids, second.speech_s)
        session.commit()
        session.refresh(korr_voice)
        assert session.query(Voice).count() == 4
        assert korr_voice.samples > samples_before
        assert not np.allclose(korr_voice.centroid, centroid_before)
        assert abs(float(np.linalg.norm(korr_voice.centroid)) - 1.0) < 1e-6


def test_unnamed_speakers_are_not_remembered(
    registry: sessionmaker[Session], second: Diarization
) -> None:
    with registry() as session:
        result = remember_voices(session, second.transcript, second.centroids, second.speech_s)
        session.commit()
        assert session.query(Voice).count() == 0
        assert all(s.voice_id is None for s in result.speakers)


def test_match_is_one_to_one_best_first() -> None:
    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.96, 0.28, 0.0])
    matches = match_centroids({"S1": a, "S2": b}, {"v": a})
    assert list(matches) == ["S1"] and matches["S1"].voice_id == "v"
    assert match_centroids({"S1": np.array([0.0, 1.0, 0.0])}, {"v": a}) == {}


def test_merged_centroid_is_a_weighted_unit_mean() -> None:
    old, new = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    merged = merged_centroid(old, 30, new, 10)
    assert np.allclose(merged, np.array([3.0, 1.0]) / np.sqrt(10.0))


def test_centroids_survive_json(second: Diarization) -> None:
    data = json.loads(json.dumps(dump_centroids(second.centroids, second.speech_s)))
    centroids, speech_s = load_centroids(data)
    assert speech_s == pytest.approx(second.speech_s)
    for speaker_id, vector in second.centroids.items():
        assert np.allclose(centroids[speaker_id], vector, atol=1e-6)


def test_editor_operations_on_the_registry(
    registry: sessionmaker[Session], seed: tuple[Diarization, Transcript], second: Diarization
) -> None:
    seed_diarization, seed_transcript = seed
    with registry() as session:
        remember_voices(
            session, seed_transcript, seed_diarization.centroids, seed_diarization.speech_s
        )
        voices = {v.name: v for v in list_voices(session)}
        korr = voices[KORR_NAME]

        renamed = rename_voice(
            session, korr.id, name="Алия НУРЛАНОВА-ЖАН", role=SpeakerRole.CORRESPONDENT
        )
        assert (renamed.name, renamed.title, renamed.role) == (
            "Алия НУРЛАНОВА-ЖАН",
            "корреспондент",
            "correspondent",
        )

        # The editor sets the second clip's unknown anchor to a registry voice.
        anchor_id = second.transcript.segments[0].speaker
        assert anchor_id is not None
        spanov = voices["Ерлан СПАНОВ"]
        samples_before = spanov.samples
        edited = assign_voice(
            session, second.transcript, anchor_id, spanov.id, second.centroids, second.speech_s
        )
        speaker = edited.speaker(anchor_id)
        assert speaker is not None and speaker.name == "Ерлан СПАНОВ"
        assert speaker.voice_id == spanov.id and speaker.role is SpeakerRole.INTERVIEWEE
        assert spanov.samples > samples_before

        kakenov = voices["Абылай-хан КАКЕНОВ"]
        total_samples = spanov.samples + kakenov.samples
        centroid_before = np.array(spanov.centroid)
        merged = merge_voices(session, into_id=spanov.id, from_id=kakenov.id)
        assert merged.id == spanov.id and merged.samples == total_samples
        assert not np.allclose(merged.centroid, centroid_before)
        assert len(list_voices(session)) == 3
        with pytest.raises(NotFoundError):
            get_voice(session, kakenov.id)

        delete_voice(session, korr.id)
        session.commit()
        assert {v.name for v in list_voices(session)} == {"Ерлан СПАНОВ", "Наут ВАН ВАУДЕНБЕРГ"}
        # Deleting a voice leaves transcripts alone: the named transcript still names her.
        assert any(s.name == KORR_NAME for s in seed_transcript.speakers)
        with pytest.raises(NotFoundError):
            delete_voice(session, korr.id)
        with pytest.raises(NotFoundError):
            assign_voice(session, second.transcript, "S99", spanov.id)
