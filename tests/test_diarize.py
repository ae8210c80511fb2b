"""Diarization against the kit's truth: the real bundled d-vector model, real audio."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from support.der import (
    diarization_error_rate,
    read_rttm,
    read_wav_16k,
    transcript_turns,
    truth_transcript,
)

from efir.transcripts.model import Transcript, Word
from worker.stages.diarize import (
    Diarization,
    DiarizeOptions,
    _absorb_fleeting,
    _Unit,
    diarize,
    embed_speech,
)

os.environ.setdefault("OMP_NUM_THREADS", "1")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SEED = FIXTURES / "seed"
SECOND = FIXTURES / "second"


@pytest.fixture(scope="module")
def seed_audio() -> np.ndarray:
    return read_wav_16k(SEED / "seed.wav")


@pytest.fixture(scope="module")
def seed_input() -> Transcript:
    return truth_transcript(SEED / "seed.truth.json")


@pytest.fixture(scope="module")
def seed_result(seed_input: Transcript, seed_audio: np.ndarray) -> Diarization:
    return diarize(seed_input, seed_audio, options=DiarizeOptions())


def _der(result: Diarization, rttm: Path) -> float:
    return diarization_error_rate(read_rttm(rttm), transcript_turns(result.transcript))


def test_seed_without_a_speaker_count(seed_result: Diarization) -> None:
    assert _der(seed_result, SEED / "seed.rttm") <= 0.08
    assert [s.id for s in seed_result.transcript.speakers] == ["S1", "S2", "S3", "S4", "S5"]


def test_speakers_are_numbered_by_first_appearance(seed_result: Diarization) -> None:
    first_seen: list[str] = []
    for segment in seed_result.transcript.segments:
        assert segment.speaker is not None
        if segment.speaker not in first_seen:
            first_seen.append(segment.speaker)
    assert first_seen == [s.id for s in seed_result.transcript.speakers]


def test_every_word_kept_once_and_segments_cut_on_words(
    seed_input: Transcript, seed_result: Diarization
) -> None:
    before = [w for s in seed_input.segments for w in s.words]
    after = [w for s in seed_result.transcript.segments for w in s.words]
    assert after == before
    for segment in seed_result.transcript.segments:
        assert segment.start == segment.words[0].start
        assert segment.end == segment.words[-1].end
        assert segment.text == "".join(w.word for w in segment.words).strip()
    # The 12-word input segments straddle turn changes: the diarizer had to split some.
    assert len(seed_result.transcript.segments) > len(seed_input.segments)


def test_centroids_cover_every_speaker(seed_result: Diarization) -> None:
    ids = {s.id for s in seed_result.transcript.speakers}
    assert set(seed_result.centroids) == ids == set(seed_result.speech_s)
    for vector in seed_result.centroids.values():
        assert vector.shape == (256,)
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4
    # The correspondent speaks most in the seed (4 turns, ~63 s of 146 s).
    busiest = max(seed_result.speech_s, key=lambda s: seed_result.speech_s[s])
    assert 55 < seed_result.speech_s[busiest] < 70


def test_speaker_count_hints(seed_input: Transcript, seed_audio: np.ndarray) -> None:
    told = diarize(seed_input, seed_audio, options=DiarizeOptions(min_speakers=5, max_speakers=5))
    assert len(told.transcript.speakers) == 5
    assert _der(told, SEED / "seed.rttm") <= 0.08
    capped = diarize(seed_input, seed_audio, options=DiarizeOptions(max_speakers=3))
    assert len(capped.transcript.speakers) == 3


def test_turn_changes_inside_one_speech_run(seed_input: Transcript, seed_audio: np.ndarray) -> None:
    """ASR word times often bridge the pause between turns; a long `pause_s` simulates
    that: the whole clip is then one speech run and the voice alone marks the changes."""
    result = diarize(seed_input, seed_audio, options=DiarizeOptions(pause_s=5.0))
    assert _der(result, SEED / "seed.rttm") <= 0.08


def _retimed(transcript: Transcript, retime: Callable[[Word, Word | None], Word]) -> Transcript:
    words = [w for s in transcript.segments for w in s.words]
    following = {id(w): n for w, n in pairwise(words)}
    return replace(
        transcript,
        segments=tuple(
            replace(s, words=tuple(retime(w, following.get(id(w))) for w in s.words))
            for s in transcript.segments
        ),
    )


def test_speech_runs_follow_the_audio_not_the_word_times(
    seed_input: Transcript, seed_audio: np.ndarray
) -> None:
    """Whisper stretches a turn's last word over the pause into the next speaker, and
    trims words so that a short breath reads as a long pause: the embedded chunks (and
    so the speech runs) are the same either way, because the pauses are the audio's."""
    bridged = _retimed(seed_input, lambda w, n: replace(w, end=n.start if n else w.end))
    quarter = lambda w: (w.end - w.start) / 4  # noqa: E731
    trimmed = _retimed(
        seed_input, lambda w, n: replace(w, start=w.start + quarter(w), end=w.end - quarter(w))
    )
    runs = [embed_speech(t, seed_audio) for t in (seed_input, bridged, trimmed)]
    assert len(set(runs[0].runs.tolist())) == 8  # the seed's eight turns, one run each
    for other in runs[1:]:
        np.testing.assert_allclose(other.spans, runs[0].spans)
        assert other.runs.tolist() == runs[0].runs.tolist()


def test_audio_only_second_clip_gets_its_three_speakers() -> None:
    audio = read_wav_16k(SECOND / "second.wav")
    result = diarize(truth_transcript(SECOND / "second.truth.json"), audio)
    assert len(result.transcript.speakers) == 3
    assert _der(result, SECOND / "second.rttm") <= 0.08
    assert all(s.name is None for s in result.transcript.speakers)


def test_segments_without_words_are_labelled_whole(
    seed_input: Transcript, seed_audio: np.ndarray
) -> None:
    bare = replace(seed_input, segments=tuple(replace(s, words=()) for s in seed_input.segments))
    result = diarize(bare, seed_audio)
    assert len(result.transcript.segments) == len(bare.segments)
    assert all(s.speaker for s in result.transcript.segments)
    assert len(result.transcript.speakers) >= 2


def test_empty_transcript_has_no_speakers(seed_audio: np.ndarray) -> None:
    empty = Transcript(duration=146.1, language="ru", model="test")
    assert diarize(empty, seed_audio).transcript.speakers == ()


def test_a_monologue_is_one_speaker(seed_input: Transcript, seed_audio: np.ndarray) -> None:
    anchor_lead = replace(
        seed_input,
        segments=tuple(
            replace(s, words=tuple(w for w in s.words if w.end <= 20.6))
            for s in seed_input.segments
            if s.start < 20.6
        ),
    )
    result = diarize(anchor_lead, seed_audio)
    assert [s.id for s in result.transcript.speakers] == ["S1"]


def test_a_speaker_heard_under_a_second_joins_the_voice_it_runs_into() -> None:
    """The seed on this machine's Whisper words: an interviewee's last word and the
    correspondent's «Сейчас» (0.7 s) formed a speaker of their own."""
    units = [
        _Unit(100.0, 102.6, 0, 0),  # interviewee (label 0, captioned)
        _Unit(103.1, 103.8, 1, 0),  # the fleeting speaker (label 2)
        _Unit(103.8, 110.0, 1, 1),  # correspondent (label 1)
        _Unit(120.0, 120.6, 2, 0),  # label 3: as short, but alone between pauses
    ]
    labels = _absorb_fleeting(units, np.array([0, 2, 1, 3]), min_turn_s=1.0, pause_s=0.5, named={0})
    assert labels.tolist() == [0, 1, 1, 3]
    # A caption's speaker is never absorbed, however little it says.
    kept = _absorb_fleeting(units, np.array([0, 2, 1, 3]), min_turn_s=1.0, pause_s=0.5, named={2})
    assert kept.tolist() == [0, 2, 1, 3]


@pytest.mark.slow
def test_seed_on_whisper_words(seed_audio: np.ndarray) -> None:
    """Real ASR output: Whisper's word times (which bridge pauses and drift by tens of
    milliseconds) instead of the kit's."""
    from efir.config import Settings
    from worker.pipeline import pipeline_options_from_settings, run_pipeline

    asr_only = replace(pipeline_options_from_settings(Settings(cpu_threads=1)), find_speakers=False)
    transcript = run_pipeline(SEED / "seed.wav", asr_only).transcript
    assert sum(len(s.words) for s in transcript.segments) > 150  # the truth has 222
    result = diarize(transcript, seed_audio)
    assert len(result.transcript.speakers) == 5
    assert _der(result, SEED / "seed.rttm") <= 0.08
