"""Captions as diarization evidence, on synthetic embeddings where the truth is known:
the constraint logic alone (worker/stages/caption_evidence.py), then the check flag,
the edits that clear it and its JSON and TXT forms."""

from __future__ import annotations

import json

import numpy as np
import pytest

from api.schemas import EditRequest
from efir.exports import render
from efir.exports.text import CHECK_MARK
from efir.transcripts.edits import apply_edits
from efir.transcripts.model import Segment, Speaker, SpeakerSource, Transcript
from efir.voices.registry import KnownVoice, match_known_voices
from worker.stages.caption_evidence import (
    CHECK_BELOW,
    Anchor,
    Decision,
    EvidenceOptions,
    caption_tails,
    decide,
    mark_checks,
    split_at_captions,
)
from worker.stages.speaker_embedding import unit_rows

DIM = 64
SAME = 0.86  # the diarizer's plain same-speaker threshold


def _voice(
    rng: np.random.Generator, near: np.ndarray | None = None, cos: float = 0.0
) -> np.ndarray:
    """A unit voice vector; with `near`, one at cosine `cos` to it."""
    fresh = rng.standard_normal(DIM)
    if near is None:
        return fresh / np.linalg.norm(fresh)
    orthogonal = fresh - (fresh @ near) * near
    orthogonal /= np.linalg.norm(orthogonal)
    return cos * near + np.sqrt(1 - cos**2) * orthogonal


def _segment(rng: np.random.Generator, voice: np.ndarray, cos: float = 0.985) -> np.ndarray:
    """One stretch of speech: its mean d-vector sits close to the voice, not on it."""
    return _voice(rng, voice, cos)


def _run(segments: list[tuple[np.ndarray, float, Anchor | None]]):  # type: ignore[no-untyped-def]
    means = np.stack([m for m, _, _ in segments])
    durations = np.array([d for _, d, _ in segments])
    return decide(
        means,
        durations,
        [a for _, _, a in segments],
        seed_segment_s=3.0,
        same_speaker_similarity=SAME,
    )


A = Anchor("ИГОРЬ ПЕТРОВ", "Игорь ПЕТРОВ", "ДИРЕКТОР")
B = Anchor("СЕРГЕЙ ОРЛОВ", "Сергей ОРЛОВ", None)


@pytest.mark.parametrize("seed", range(5))
def test_two_captions_never_end_up_on_one_speaker(seed: int) -> None:
    rng = np.random.default_rng(seed)
    petrov = _voice(rng)
    orlov = _voice(rng, petrov, 0.93)  # closer than the same-speaker threshold
    segments = [
        (_segment(rng, petrov), 6.0, A),
        (_segment(rng, orlov), 5.0, B),
        (_segment(rng, petrov), 4.0, None),
    ]
    without_captions = _run([(m, d, None) for m, d, _ in segments])
    assert without_captions.labels[0] == without_captions.labels[1], "the voices alone merge"
    decision = _run(segments)
    assert decision.labels[0] != decision.labels[1]
    assert decision.anchors[decision.labels[0]] == A
    assert decision.anchors[decision.labels[1]] == B
    assert decision.sources[:2] == [SpeakerSource.CAPTION, SpeakerSource.CAPTION]


@pytest.mark.parametrize("seed", range(5))
def test_an_uncaptioned_stretch_never_takes_a_name_on_weak_evidence(seed: int) -> None:
    rng = np.random.default_rng(seed)
    vox = _voice(rng)
    korr = _voice(rng, vox, 0.94)  # a correspondent close to a captioned vox-pop
    anchor_voice = _voice(rng)
    segments = [
        (_segment(rng, anchor_voice), 8.0, None),
        (_segment(rng, korr), 9.0, None),
        (_segment(rng, vox), 4.0, B),
        (_segment(rng, korr), 2.0, None),  # short: assigned, not clustered
        (_segment(rng, korr), 5.0, None),
        (_segment(rng, vox, 0.995), 3.5, None),  # the vox-pop again, uncaptioned
    ]
    decision = _run(segments)
    named = set(decision.anchors)
    for i in (0, 1, 3, 4):
        assert decision.labels[i] not in named
        assert decision.sources[i] is None
    assert decision.labels[5] == decision.labels[2]
    assert decision.sources[5] is SpeakerSource.VOICE
    assert decision.confidence[5] > 0.95


def test_a_two_shot_caption_names_the_voice_that_speaks_most() -> None:
    rng = np.random.default_rng(7)
    mother, son, korr = _voice(rng), _voice(rng), _voice(rng)
    segments = [
        (_segment(rng, korr), 7.0, None),
        (_segment(rng, mother), 4.5, A),
        (_segment(rng, son), 1.5, A),  # the other person in the picture
        (_segment(rng, mother), 3.2, A),
    ]
    decision = _run(segments)
    assert decision.labels[1] == decision.labels[3]
    assert decision.anchors[decision.labels[1]] == A
    assert decision.labels[2] != decision.labels[1]
    assert decision.labels[2] not in decision.anchors
    # Somebody on screen, not the nearest unnamed voice (the correspondent's).
    assert decision.labels[2] != decision.labels[0]
    assert decision.sources[2] is None


def test_a_two_shot_voice_that_is_the_correspondent_stays_the_correspondent() -> None:
    rng = np.random.default_rng(8)
    mother, korr = _voice(rng), _voice(rng)
    segments = [
        (_segment(rng, korr), 7.0, None),
        (_segment(rng, mother), 4.5, A),
        (_segment(rng, korr), 1.5, A),  # the correspondent asks from the two-shot
    ]
    decision = _run(segments)
    assert decision.labels[2] == decision.labels[0]


@pytest.mark.parametrize("seed", range(3))
def test_speech_no_speaker_may_take_is_a_speaker_of_its_own(seed: int) -> None:
    """Only captioned speakers, and a short stretch of a voice like neither of them
    closely enough: it gets no name rather than the nearest one."""
    rng = np.random.default_rng(seed)
    petrov = _voice(rng)
    orlov = _voice(rng, petrov, 0.9)
    stranger = _voice(rng, petrov, 0.9)
    segments = [
        (_segment(rng, petrov), 6.0, A),
        (_segment(rng, orlov), 5.0, B),
        (_segment(rng, stranger), 2.0, None),
    ]
    decision = _run(segments)
    assert decision.labels[2] not in decision.anchors
    assert decision.sources[2] is None


@pytest.mark.parametrize("seed", range(3))
def test_one_unnamed_turn_cut_by_a_short_pause_stays_one_speaker(seed: int) -> None:
    """Two 3.5-4 s pieces of one voice either side of a 0.7 s pause score under the plain
    bar (as Whisper's pauses leave them): they merge; the same pair far apart in time
    does not, and the lower bar never lends anyone a caption's name."""
    rng = np.random.default_rng(seed)
    first = _voice(rng)
    second = _voice(rng, first, 0.84)
    petrov = _voice(rng, first, 0.84)
    segments = [
        (first, 3.6, None),
        (second, 4.0, None),
        (_segment(rng, petrov), 6.0, A),
    ]
    means = np.stack([m for m, _, _ in segments])

    def labels(spans: list[tuple[float, float]]) -> np.ndarray:
        return decide(
            means,
            np.array([d for _, d, _ in segments]),
            [a for _, _, a in segments],
            seed_segment_s=3.0,
            same_speaker_similarity=SAME,
            spans=np.array(spans),
        ).labels

    adjacent = labels([(2.9, 6.5), (7.2, 11.2), (12.0, 18.0)])
    assert adjacent[0] == adjacent[1]
    assert adjacent[2] != adjacent[0]
    apart = labels([(2.9, 6.5), (40.0, 44.0), (12.0, 18.0)])
    assert apart[0] != apart[1]


def _transcript() -> Transcript:
    def segment(i: int, speaker: str, source: SpeakerSource, confidence: float) -> Segment:
        return Segment(
            id=i,
            start=i * 5.0,
            end=i * 5.0 + 4.0,
            text=f"реплика {i}.",
            speaker=speaker,
            speaker_source=source,
            speaker_confidence=confidence,
        )

    return Transcript(
        duration=30.0,
        language="ru",
        model="test",
        segments=(
            segment(0, "S1", SpeakerSource.ROLE, 0.7),
            segment(1, "S2", SpeakerSource.CAPTION, 1.0),
            segment(2, "S2", SpeakerSource.VOICE, 0.93),
            segment(3, "S2", SpeakerSource.VOICE, 0.97),
        ),
        speakers=(Speaker("S1"), Speaker("S2", name="Игорь ПЕТРОВ", title="ДИРЕКТОР")),
    )


def test_only_unsure_named_segments_are_flagged() -> None:
    checked = mark_checks(_transcript(), {}, [])
    assert [s.check for s in checked.segments] == [False, False, True, False]


def test_check_round_trips_and_old_json_reads_unchanged() -> None:
    checked = mark_checks(_transcript(), {}, [])
    data = json.loads(checked.to_json())
    assert data["segments"][2]["check"] is True
    assert data["segments"][2]["speaker_source"] == "voice"
    assert "check" not in data["segments"][3]
    assert Transcript.from_json(checked.to_json()) == checked
    old = {
        "duration": 5.0,
        "language": "ru",
        "model": "old",
        "speakers": [],
        "segments": [{"id": 0, "start": 0.0, "end": 1.0, "speaker": None, "text": "да"}],
    }
    assert set(Transcript.from_dict(old).to_dict()["segments"][0]) == {
        "id", "start", "end", "speaker", "text", "words"
    }  # fmt: skip


@pytest.mark.parametrize(
    "op",
    [
        {"op": "confirm_speaker", "segment_id": 2},
        {"op": "set_speaker", "segment_id": 2, "speaker_id": "S1"},
        {"op": "rename_speaker", "speaker_id": "S2", "name": "Игорь ПЕТРОВ"},
    ],
)
def test_confirming_or_changing_the_speaker_clears_the_flag(op: dict[str, object]) -> None:
    checked = mark_checks(_transcript(), {}, [])
    ops = EditRequest.model_validate({"base_revision": 1, "ops": [op]}).edits()
    edited = apply_edits(checked, ops)
    segment = edited.segments[2]
    assert not segment.check and segment.speaker_source is SpeakerSource.EDITOR


def test_text_export_marks_turns_to_check_only_when_asked() -> None:
    checked = mark_checks(_transcript(), {}, [])
    marked = render(checked, "txt", mark_checks=True).decode()
    assert f"{CHECK_MARK} Игорь ПЕТРОВ, ДИРЕКТОР:" in marked
    assert CHECK_MARK not in render(checked, "txt").decode()


def _one_stretch_under_b(chunk_vectors: np.ndarray) -> Decision:
    """The decision for one stretch of 0.8 s chunks, all under caption B."""
    return decide(
        unit_rows(chunk_vectors.mean(axis=0, keepdims=True)),
        np.array([0.8 * len(chunk_vectors)]),
        [B],
        seed_segment_s=3.0,
        same_speaker_similarity=SAME,
    )


@pytest.mark.parametrize(("tail_cos", "named"), [(0.8, True), (0.1, False)])
def test_speech_running_on_past_its_caption_is_only_same_voice(
    tail_cos: float, named: bool
) -> None:
    """One stretch under a caption that went early: the part after it keeps the speaker
    but counts as decided by voice, and a different voice there gets flagged; a plainly
    different one (a two-shot partner) is an unnamed speaker of its own."""
    rng = np.random.default_rng(3)
    vox = _voice(rng)
    korr = _voice(rng, vox, tail_cos)
    vox_korr = np.stack(
        [_segment(rng, vox, 0.9) for _ in range(5)] + [_segment(rng, korr, 0.9) for _ in range(5)]
    )
    chunks = [(10.0 + 0.8 * k, 10.8 + 0.8 * k, 0) for k in range(10)]
    decision = _one_stretch_under_b(vox_korr)
    captions = [(10.5, 12.9, B)]  # seen for 2.4 s, then gone while the stretch runs on
    parts, tailed = caption_tails(
        decision, [np.arange(10)], vox_korr, chunks, captions, EvidenceOptions()
    )
    assert [list(p) for p in parts] == [list(range(5)), list(range(5, 10))]
    assert tailed.sources[0] is SpeakerSource.CAPTION
    assert bool(tailed.labels[0] == tailed.labels[1]) is named
    if named:
        assert tailed.sources[1] is SpeakerSource.VOICE
        assert tailed.confidence[1] < 0.9 < CHECK_BELOW
    else:
        assert tailed.sources[1] is None and tailed.labels[1] not in tailed.anchors


@pytest.mark.parametrize(("first_seen", "named"), [(30.0, 0), (34.0, 1), (None, 1)])
def test_a_caption_names_the_voice_speaking_when_it_was_first_seen(
    first_seen: float | None, named: int
) -> None:
    """A two-shot: one caption over a doctor (3.2 s, speaking when it was first seen) and
    her assistant, who talks longer under it. The caption goes to the voice under its
    first sighting; with no sighting time, to the voice with most speech."""
    rng = np.random.default_rng(13)
    doctor = _voice(rng)
    assistant = _voice(rng, doctor, 0.3)
    decision = decide(
        np.stack([_segment(rng, doctor), _segment(rng, assistant)]),
        np.array([3.2, 4.0]),
        [B, B],
        seed_segment_s=3.0,
        same_speaker_similarity=SAME,
        runs=[0, 1],
        spans=np.array([(28.7, 31.9), (32.7, 36.7)]),
        first_seen={} if first_seen is None else {B.key: first_seen},
    )
    assert decision.anchors.get(int(decision.labels[named])) == B
    assert decision.sources[named] is SpeakerSource.CAPTION
    assert int(decision.labels[1 - named]) not in decision.anchors


@pytest.mark.parametrize(("head_cos", "split"), [(0.1, True), (0.9, False)])
def test_another_voice_s_last_words_at_a_caption_s_stretch_head_are_cut_off(
    head_cos: float, split: bool
) -> None:
    """A stretch running into a caption's first sighting that starts with one chunk of a
    plainly different voice (the previous speaker, no pause between) loses that chunk;
    a first chunk of the same voice stays."""
    rng = np.random.default_rng(9)
    mother = _voice(rng)
    vectors = np.stack(
        [_voice(rng, mother, head_cos)] + [_segment(rng, mother, 0.9) for _ in range(4)]
    )
    chunks = [(45.7 + 0.8 * k, 46.5 + 0.8 * k, 0) for k in range(5)]
    parts = split_at_captions([np.arange(5)], vectors, chunks, [48.0], EvidenceOptions())
    assert [list(p) for p in parts] == ([[0], [1, 2, 3, 4]] if split else [[0, 1, 2, 3, 4]])


@pytest.mark.parametrize(
    ("same_run", "cos", "named"), [(True, 0.8, True), (False, 0.8, False), (True, 0.3, False)]
)
def test_a_short_odd_stretch_in_the_captioned_voice_s_run_keeps_the_name_unsure(
    same_run: bool, cos: float, named: bool
) -> None:
    """Under one caption, a short stretch whose embedding strays from the captioned voice:
    with no pause from that voice it is the same person (as "same voice", flagged when
    unsure); after a pause, or when plainly another voice, it is the other person of a
    two-shot."""
    rng = np.random.default_rng(11)
    vox, korr = _voice(rng), _voice(rng)
    means = np.stack([_segment(rng, korr), _segment(rng, vox), _voice(rng, vox, cos)])
    decision = decide(
        means,
        np.array([7.0, 3.5, 1.6]),
        [None, B, B],
        seed_segment_s=3.0,
        same_speaker_similarity=SAME,
        runs=[0, 1, 1 if same_run else 2],
    )
    assert decision.anchors[decision.labels[1]] == B
    assert bool(decision.labels[2] == decision.labels[1]) is named
    if named:
        assert decision.sources[2] is SpeakerSource.VOICE
        assert decision.confidence[2] < CHECK_BELOW
    else:
        assert decision.labels[2] not in decision.anchors


def test_a_captioned_speaker_never_links_to_another_person_s_voice() -> None:
    """A caption says who speaks: a registry voice that merely sounds alike (a close
    voice from another clip) under another name is not linked, so it neither learns
    from this speaker nor gets renamed after them; the same name is linked."""
    rng = np.random.default_rng(5)
    bekov = _voice(rng)
    registry = [KnownVoice("v1", "Арман БЕКОВ", None, None, bekov)]

    def matched(speaker: Speaker) -> Speaker:
        transcript = Transcript(
            duration=10.0, language="ru", model="test", segments=(), speakers=(speaker,)
        )
        close = {speaker.id: _segment(rng, bekov, 0.97)}
        return match_known_voices(transcript, close, registry).speakers[0]

    other = matched(Speaker(id="S1", name="Марат АХМЕТОВ"))
    assert other.voice_id is None and other.name == "Марат АХМЕТОВ"
    assert matched(Speaker(id="S1", name="Арман Беков")).voice_id == "v1"
    unnamed = matched(Speaker(id="S1"))
    assert unnamed.voice_id == "v1" and unnamed.name == "Арман БЕКОВ"
