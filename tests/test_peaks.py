"""The editor's waveform and timing: peaks measured on the seed's audio (in memory and from
the long-programme raw file alike), served by the API, and a retime saved as a revision on
both databases."""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx
import numpy as np
import pytest
from support.service_support import SEED_DIR, session_factory
from support.subtitle_rules import truth_transcript

from efir.config import Settings
from efir.db import Clip, make_engine, make_session_factory, migrate
from efir.jobs.lifecycle import claim_job, create_job, finish_job
from efir.media.analyses import PEAKS, save_analysis
from efir.transcripts.edits import SetBounds
from efir.transcripts.model import Transcript
from efir.transcripts.revisions import edit_transcript, latest_revision, save_job_output
from worker.stages.media import SAMPLE_RATE, decode_audio
from worker.stages.peaks import BUCKET_SAMPLES, PEAK_SCALE, peaks_of_pcm, waveform_peaks

SEED_WAV = SEED_DIR / "seed.wav"


@pytest.fixture(scope="module")
def seed_audio() -> np.ndarray:
    return decode_audio(SEED_WAV)


def test_peaks_of_the_seed_follow_its_speech_and_silence(seed_audio: np.ndarray) -> None:
    peaks = waveform_peaks([seed_audio])
    values = np.array(peaks["peaks"])
    assert peaks["bucket_s"] == 0.01 and peaks["scale"] == PEAK_SCALE
    assert len(values) == -(-len(seed_audio) // BUCKET_SAMPLES)
    assert values.min() >= 0 and values.max() == round(np.abs(seed_audio).max() * PEAK_SCALE)
    # Louder inside the truth's words than in the pauses between turns.
    truth = truth_transcript()
    speech = np.zeros(len(values), dtype=bool)
    for segment in truth.segments:
        for word in segment.words:
            speech[int(word.start * 100) : int(word.end * 100)] = True
    assert np.median(values[speech]) > 4 * max(1.0, float(np.median(values[~speech])))


def test_peaks_do_not_depend_on_how_the_audio_is_cut(seed_audio: np.ndarray) -> None:
    whole = waveform_peaks([seed_audio])
    cuts = [0, 999, 1000, 16_001, 200_000, len(seed_audio)]
    pieces = [seed_audio[a:b] for a, b in itertools.pairwise(cuts)]
    assert waveform_peaks(pieces) == whole


def test_the_long_programme_file_gives_the_same_peaks(
    seed_audio: np.ndarray, tmp_path: Path
) -> None:
    """The chunked path reads the raw float32 file a minute at a time."""
    raw = tmp_path / "programme.f32"
    raw.write_bytes(seed_audio.astype("<f4").tobytes())
    with raw.open("rb") as source:
        from_file = peaks_of_pcm(source, len(seed_audio) / SAMPLE_RATE)
    assert from_file == waveform_peaks([seed_audio])


def test_a_retime_is_a_new_revision_on_either_database(database_url: str) -> None:
    migrate(database_url)
    sessions = make_session_factory(make_engine(database_url))
    seed = truth_transcript()
    second = seed.segments[1]
    with sessions() as session:
        clip = Clip(sha256="e" * 64, original_filename="seed.wav", media_key="k", size_bytes=1)
        session.add(clip)
        session.flush()
        job = create_job(session, clip_id=clip.id)
        claim_job(session, job.id)
        save_job_output(session, clip_id=clip.id, job_id=job.id, transcript=seed)
        finish_job(session, job.id)
        edit_transcript(
            session,
            clip_id=clip.id,
            base_revision=1,
            ops=[SetBounds(second.id, second.start + 0.12, second.end)],
        )
        row = latest_revision(session, clip.id)
        saved = Transcript.from_dict(row.data)
    assert row.revision == 2
    assert saved.segments[1].start == round(second.start + 0.12, 3)
    moved = saved.segments[1]
    assert all(moved.start <= w.start <= w.end <= moved.end for w in moved.words)
    assert moved.words[0].start > second.words[0].start
    assert saved.segments[0] == seed.segments[0]


def test_the_api_serves_a_clips_peaks(
    api_client: tuple[httpx.Client, Settings], seed_audio: np.ndarray
) -> None:
    client, settings = api_client
    with session_factory(settings.sqlalchemy_url)() as session:
        clip = Clip(sha256="f" * 64, original_filename="seed.wav", media_key="k", size_bytes=1)
        session.add(clip)
        session.commit()
        clip_id = clip.id
    assert client.get(f"/api/v1/clips/{clip_id}/peaks").status_code == 404
    assert client.get("/api/v1/clips/nope/peaks").status_code == 404
    peaks = waveform_peaks([seed_audio])
    with session_factory(settings.sqlalchemy_url)() as session:
        save_analysis(session, clip_id, PEAKS, peaks)
        session.commit()
    response = client.get(f"/api/v1/clips/{clip_id}/peaks")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == peaks
    # httpx asks for gzip and undoes it; the wire carries a third of the JSON.
    assert response.headers["content-encoding"] == "gzip"
    assert len(response.content) > 2.5 * int(response.headers["content-length"])
    plain = client.get(f"/api/v1/clips/{clip_id}/peaks", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json() == peaks
