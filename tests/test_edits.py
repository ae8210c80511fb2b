"""Editor corrections on the seed's ground truth: timings stay sane after retyping, and
splits, merges, speaker changes and renames show up in every export."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from support.subtitle_rules import read_back, read_vtt, spoken_text, truth_transcript, violations

from api.schemas import EditRequest
from efir.errors import InvalidEditError
from efir.exports import CueRules, render
from efir.transcripts.edits import (
    EditOp,
    MergeSegments,
    RenameSpeaker,
    ReplaceWord,
    SetBounds,
    SetSpeaker,
    SetText,
    SplitSegment,
    align_words,
    apply_edits,
)
from efir.transcripts.model import Segment, SpeakerRole, Transcript, Word


@pytest.fixture(scope="module")
def seed() -> Transcript:
    return truth_transcript()


def _timed(segment: Segment) -> list[Word]:
    return list(align_words(segment.words, segment.text))


def test_alignment_of_the_truth_keeps_every_festival_time(seed: Transcript) -> None:
    """Truth tokens are unpunctuated; the text's words still get their exact times."""
    for segment in seed.segments:
        timed = _timed(segment)
        assert [w.word for w in timed] == segment.text.split()
    first = _timed(seed.segments[0])
    assert [(w.start, w.end) for w in first] == [(w.start, w.end) for w in seed.segments[0].words]


def test_retyping_keeps_unchanged_words_and_gives_replaced_words_their_span(
    seed: Transcript,
) -> None:
    segment = seed.segments[0]
    before = _timed(segment)
    tokens = segment.text.split()
    i = tokens.index("одиннадцатый")
    assert tokens[i + 1 : i + 5] == ["по", "счету", "Гражданский", "форум."]
    # "одиннадцатый по счету" becomes "11-й юбилейный"; "ежегодный" is inserted after "форум."
    edited_tokens = [
        *tokens[:i],
        "11-й",
        "юбилейный",
        *tokens[i + 3 : i + 5],
        "ежегодный",
        *tokens[i + 5 :],
    ]
    edited = apply_edits(seed, [SetText(segment.id, " ".join(edited_tokens))])
    after = list(edited.segments[0].words)
    assert [w.word for w in after] == edited_tokens
    new_position = {j: j for j in range(i)} | {i + 3: i + 2, i + 4: i + 3}
    new_position |= {j: j for j in range(i + 5, len(tokens))}
    for old, new in new_position.items():
        assert after[new] == before[old]  # same text, exact same times and probability
    # the replacement shares the replaced words' span, and nothing more
    assert after[i].start == before[i].start
    assert after[i + 1].end == pytest.approx(before[i + 2].end)
    assert after[i].end == pytest.approx(after[i + 1].start)
    # the inserted word lies in "форум."'s span or the pause after it, never beyond
    assert before[i + 4].start <= after[i + 4].start < after[i + 4].end <= before[i + 5].start
    starts = [w.start for w in after]
    assert starts == sorted(starts)
    assert all(w.end >= w.start for w in after)


def test_retyping_asr_words_with_leading_spaces_and_case_changes() -> None:
    words = (
        Word(0.0, 0.4, " Сегодня", 0.9),
        Word(0.4, 0.9, " в", 0.8),
        Word(0.9, 1.5, " костанае", 0.5),
        Word(1.6, 2.0, " прошел", 0.9),
        Word(2.0, 2.6, " форум", 0.9),
    )
    timed = align_words(words, "Сегодня в Костанае прошёл форум.")
    assert [(w.start, w.end) for w in timed] == [(w.start, w.end) for w in words]
    assert timed[0].probability == 0.9  # a kept word keeps its confidence
    inserted = align_words(words, "Сегодня в Костанае прошел большой форум")
    assert inserted[4].word == "большой"
    assert inserted[3].start == 1.6 and inserted[5].end == 2.6
    assert 1.6 < inserted[4].start < inserted[4].end < 2.6


def test_a_respelled_word_keeps_its_own_time_inside_a_replaced_run() -> None:
    words = (
        Word(0.0, 0.5, " Сегодня"),
        Word(0.5, 1.2, " Костанай"),
        Word(1.3, 1.8, " форум"),
        Word(1.8, 2.3, " открылся"),
    )
    timed = align_words(words, "Сегодня в Костанае форум открылся.")
    assert [w.word for w in timed] == ["Сегодня", "в", "Костанае", "форум", "открылся."]
    assert (timed[2].start, timed[2].end) == (0.5, 1.2)  # "Костанай" respelled
    # "в" had no pause to take, so it shares the span of the word before it
    assert timed[0].start == 0.0 and timed[0].end == timed[1].start and timed[1].end == 0.5
    replaced = align_words(words, "Вчера Костанай форум открылся")
    assert (replaced[0].start, replaced[0].end) == (0.0, 0.5)  # one word for one word


def _edited(data: st.DataObject, old: list[Word], actions: list[str]) -> list[str]:
    tokens = [w.word for w in old]
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(tokens) - 1))
        action = data.draw(st.sampled_from(actions))
        new_word = data.draw(st.text("абвгдеёжз«»—", min_size=1, max_size=9))
        if action == "delete" and len(tokens) > 1:
            del tokens[at]
        elif action == "insert":
            tokens.insert(at, new_word)
        elif action == "replace":
            tokens[at] = new_word
        elif action == "recase":
            tokens[at] = tokens[at].upper().rstrip(".,") + "!"
    return tokens


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_any_retyping_gives_one_ordered_word_per_token_within_the_old_span(
    data: st.DataObject,
) -> None:
    old = _timed(truth_transcript().segments[2])
    tokens = _edited(data, old, ["delete", "insert", "replace", "recase"])
    words = align_words(old, " ".join(tokens))
    assert [w.word for w in words] == tokens
    assert all(old[0].start <= w.start <= w.end <= old[-1].end for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_deleting_and_recasing_never_moves_a_word(data: st.DataObject) -> None:
    old = _timed(truth_transcript().segments[2])
    tokens = _edited(data, old, ["delete", "recase"])
    words = align_words(old, " ".join(tokens))
    old_times = {(w.start, w.end) for w in old}
    assert all((w.start, w.end) in old_times for w in words)
    assert len({(w.start, w.end) for w in words}) == len(words)


def test_split_then_merge_restores_the_segment(seed: Transcript) -> None:
    split = apply_edits(seed, [SplitSegment(segment_id=1, at_word=12)])
    assert len(split.segments) == len(seed.segments) + 1
    first, second = split.segments[1], split.segments[2]
    assert [s.id for s in split.segments] == list(range(len(split.segments)))
    assert f"{first.text} {second.text}" == seed.segments[1].text
    assert first.speaker == second.speaker == "korr"
    assert first.end == first.words[-1].end <= second.start == second.words[0].start
    merged = apply_edits(split, [MergeSegments((1, 2))])
    assert merged.segments[1].text == seed.segments[1].text
    assert merged.segments[1].words == tuple(_timed(seed.segments[1]))
    assert (merged.segments[1].start, merged.segments[1].end) == (
        seed.segments[1].start,
        seed.segments[1].end,
    )


def test_merge_and_split_refuse_what_does_not_fit(seed: Transcript) -> None:
    with pytest.raises(ValueError, match="not consecutive"):
        apply_edits(seed, [MergeSegments((1, 3))])
    with pytest.raises(ValueError, match="no segment 99"):
        apply_edits(seed, [MergeSegments((1, 99))])
    with pytest.raises(ValueError, match="at_word must be between 1 and"):
        apply_edits(seed, [SplitSegment(0, 0)])
    with pytest.raises(ValueError, match="no speaker 'ghost'"):
        apply_edits(seed, [RenameSpeaker("ghost", (("name", "Кто-то"),))])


def test_speaker_changes_and_renames_show_in_every_export(seed: Transcript) -> None:
    ops = _parsed(
        [
            {
                "op": "rename_speaker",
                "speaker_id": "korr",
                "name": "Анна ИВАНОВА",
                "title": "КОРРЕСПОНДЕНТ",
            },
            {"op": "set_speaker", "segment_id": 6, "speaker_id": "kakenov"},
            {
                "op": "set_text",
                "segment_id": 0,
                "text": seed.segments[0].text.replace("одиннадцатый", "двенадцатый"),
            },
        ]
    )
    edited = apply_edits(seed, ops)
    assert edited.speaker("korr").caption == "Анна ИВАНОВА, КОРРЕСПОНДЕНТ"
    assert edited.speaker("korr").role is SpeakerRole.CORRESPONDENT  # untouched fields stay
    text = render(edited, "txt").decode()
    assert "Анна ИВАНОВА, КОРРЕСПОНДЕНТ:\n«Главная тема" in text
    assert "Ерлан СПАНОВ" not in text  # his only turn now belongs to Kakenov
    assert "двенадцатый" in text and "одиннадцатый по счету" not in text
    vtt = read_vtt(render(edited, "vtt").decode())
    assert "Анна ИВАНОВА" in {voice for cue in vtt for voice in cue.voices}
    for fmt in ("srt", "vtt", "ttml"):
        cues = read_back(edited, fmt)
        assert "двенадцатый" in spoken_text(cues)
        assert violations(cues, CueRules()) == []
    document = docx.Document(io.BytesIO(render(edited, "docx")))
    assert any("Анна ИВАНОВА" in p.text for p in document.paragraphs)


def test_merging_two_speakers_needs_to_be_told_whose_text_it_is(seed: Transcript) -> None:
    first, second = seed.segments[0], seed.segments[1]
    assert first.speaker != second.speaker  # the anchor's lead, then the correspondent
    with pytest.raises(InvalidEditError, match="different speakers"):
        apply_edits(seed, [MergeSegments((0, 1))])
    with pytest.raises(InvalidEditError, match="speaks in none"):
        apply_edits(seed, [MergeSegments((0, 1), speaker_id="kakenov")])
    merged = apply_edits(seed, [MergeSegments((0, 1), speaker_id=second.speaker)])
    assert merged.segments[0].speaker == second.speaker
    assert merged.segments[0].text == f"{first.text} {second.text}"


def test_set_speaker_to_a_new_id_adds_that_speaker(seed: Transcript) -> None:
    edited = apply_edits(seed, [SetSpeaker(0, "guest-2")])
    assert edited.segments[0].speaker == "guest-2"
    assert edited.speaker("guest-2") is not None
    assert len(edited.speakers) == len(seed.speakers) + 1


def test_apply_edits_leaves_its_input_alone(seed: Transcript) -> None:
    copy = Transcript.from_json(seed.to_json())
    apply_edits(seed, [SplitSegment(0, 5), SetText(0, "Другой текст"), MergeSegments((0, 1))])
    assert seed == copy


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"op": "delete"}, "does not match any of the expected tags"),
        ({"op": "set_text", "segment_id": "3", "text": "x"}, "segment_id"),
        ({"op": "set_text", "segment_id": True, "text": "x"}, "segment_id"),
        ({"op": "set_text", "segment_id": 3, "text": "  "}, "text"),
        ({"op": "set_speaker", "segment_id": 3}, "speaker_id"),
        ({"op": "rename_speaker", "speaker_id": "korr"}, "at least one of name, title, role"),
        ({"op": "rename_speaker", "speaker_id": "korr", "role": "boss"}, "role"),
        ({"op": "split", "segment_id": 1}, "at_word"),
        ({"op": "merge", "segment_ids": [1]}, "at least 2 items"),
        ("set_text", "op"),
        ({"op": "set_bounds", "segment_id": 1, "start": -1, "end": 2}, "greater than or equal"),
        ({"op": "set_bounds", "segment_id": 1, "start": 1, "end": "nan"}, "finite"),
    ],
)
def test_edit_request_explains_bad_ops(raw: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _parsed([raw])


def test_edit_request_reads_every_op() -> None:
    ops = _parsed(
        [
            {"op": "set_text", "segment_id": 1, "text": "Текст"},
            {"op": "set_speaker", "segment_id": 1, "speaker_id": "korr"},
            {"op": "rename_speaker", "speaker_id": "korr", "name": None, "role": "anchor"},
            {"op": "split", "segment_id": 1, "at_word": 2},
            {"op": "merge", "segment_ids": [1, 2]},
            {"op": "set_bounds", "segment_id": 1, "start": 3.04, "end": 7.5},
        ]
    )
    assert ops == [
        SetText(1, "Текст"),
        SetSpeaker(1, "korr"),
        RenameSpeaker("korr", (("name", None), ("role", SpeakerRole.ANCHOR))),
        SplitSegment(1, 2),
        MergeSegments((1, 2)),
        SetBounds(1, 3.04, 7.5),
    ]


def _parsed(raw_ops: list[object]) -> list[EditOp]:
    return EditRequest.model_validate({"base_revision": 1, "ops": raw_ops}).edits()


def test_replace_word_changes_every_form_and_keeps_the_times() -> None:
    def segment(id_: int, text: str) -> Segment:
        words = tuple(
            Word(start=id_ * 10 + i, end=id_ * 10 + i + 0.5, word=w, probability=0.5)
            for i, w in enumerate(text.split())
        )
        return Segment(id_, words[0].start, words[-1].end, text, "S0", words)

    heard = Transcript(
        duration=30.0,
        language="ru",
        model="test",
        segments=(
            segment(0, "Слово Спарову, заместителю акима."),
            segment(1, "Ерлан Спаров сказал: «Спаровым всё решено»."),
            segment(2, "Об этом говорил СПАРОВ и фермеры."),
        ),
    )
    fixed = apply_edits(heard, [ReplaceWord("Спаров", "Спанов")])
    assert [s.text for s in fixed.segments] == [
        "Слово Спанову, заместителю акима.",
        "Ерлан Спанов сказал: «Спановым всё решено».",
        "Об этом говорил СПАНОВ и фермеры.",
    ]
    for before, after in zip(heard.segments, fixed.segments, strict=True):
        assert [(w.start, w.end) for w in before.words] == [(w.start, w.end) for w in after.words]
        assert " ".join(w.word for w in after.words) == after.text
        # The editor's word is certain (search takes doubted words for misheard ones).
        assert [w.probability for w in after.words] == [
            1.0 if "пано" in w.word.lower() else 0.5 for w in after.words
        ]
    with pytest.raises(InvalidEditError):
        apply_edits(heard, [ReplaceWord("!!", "Спанов")])


def test_set_bounds_stretches_the_words_and_moves_the_subtitles(seed: Transcript) -> None:
    """A boundary dragged on the waveform: the segment's words keep their order and their
    places relative to it, and the SRT's cues move with them."""
    segment = seed.segments[1]
    start, end = segment.start - 0.2, segment.end - 0.4
    retimed = apply_edits(seed, [SetBounds(segment.id, start, end)])
    moved = retimed.segments[1]
    assert (moved.start, moved.end) == (round(start, 3), round(end, 3))
    assert [w.word for w in moved.words] == [w.word for w in segment.words]
    scale = (end - start) / (segment.end - segment.start)
    for old, new in zip(segment.words, moved.words, strict=True):
        assert start <= new.start <= new.end <= end
        assert new.start == pytest.approx(start + (old.start - segment.start) * scale, abs=0.001)
        assert new.probability == old.probability
    # The other segments and the text stay as they were.
    assert retimed.segments[0] == seed.segments[0] and retimed.segments[2:] == seed.segments[2:]
    assert retimed.text == seed.text
    before = [c for c in read_back(seed, "srt") if c.start >= segment.start - 0.01]
    after = [c for c in read_back(retimed, "srt") if c.start >= start - 0.01]
    # Cues start on a 25 fps frame: within one of the new start, 0.2 s from the old.
    assert after[0].start == pytest.approx(start, abs=0.04)
    assert before[0].start - after[0].start == pytest.approx(0.2, abs=0.04)


def test_set_bounds_refuses_overlap_and_empty_spans(seed: Transcript) -> None:
    first, second = seed.segments[0], seed.segments[1]
    for op in (
        SetBounds(second.id, first.end - 0.5, second.end),  # into the previous segment
        SetBounds(first.id, first.start, second.start + 0.5),  # into the next one
        SetBounds(first.id, first.start, first.start + 0.01),  # shorter than a frame
        SetBounds(99, 1.0, 2.0),
    ):
        with pytest.raises(InvalidEditError):
            apply_edits(seed, [op])
    # Touching a neighbour is fine: that is where a boundary is dragged to.
    touching = apply_edits(seed, [SetBounds(second.id, first.end, second.end)])
    assert touching.segments[1].start == first.end


def test_an_edited_word_loses_the_alternatives_the_recogniser_heard() -> None:
    heard = ("везде",)
    words = (
        Word(0.0, 0.4, " Весь", 0.6, alternatives=heard),
        Word(0.4, 0.9, " здесь", 0.6, alternatives=heard),
        Word(0.9, 1.5, " вода", 0.9, alternatives=("года",)),
    )
    segment = Segment(0, 0.0, 1.5, "Весь здесь вода", "S0", words)
    transcript = Transcript(2.0, "ru", "test", (segment,))
    retyped = apply_edits(transcript, [SetText(0, "Везде вода")]).segments[0].words
    assert [(w.word, w.alternatives) for w in retyped] == [("Везде", ()), ("вода", ("года",))]
    replaced = apply_edits(transcript, [ReplaceWord("вода", "погода")]).segments[0].words
    assert [w.alternatives for w in replaced] == [heard, heard, ()]


def test_alternatives_round_trip_through_json_and_old_json_still_reads() -> None:
    word = Word(1.0, 1.5, " вода", 0.6, alternatives=("везде", "в оде"))
    transcript = Transcript(2.0, "ru", "m", (Segment(0, 1.0, 1.5, "вода", words=(word,)),))
    data = json.loads(transcript.to_json())
    assert data["segments"][0]["words"][0]["alternatives"] == ["везде", "в оде"]
    assert Transcript.from_json(transcript.to_json()) == transcript
    plain = {"start": 1.0, "end": 1.5, "word": " вода", "probability": 0.6}
    assert "alternatives" not in Word.from_dict(plain).to_dict()
    assert Word.from_dict(plain) == replace(word, alternatives=())
