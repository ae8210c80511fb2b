"""Exports of the seed's ground truth and of generated transcripts, checked by an
independent validator (tests/subtitle_rules.py) after reading every file back."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import docx
import pysubs2
import pytest
import webvtt
from support.subtitle_rules import (
    FIXTURES,
    TRUTH_FIXTURES,
    ReadCue,
    normalised,
    read_back,
    read_srt,
    read_vtt,
    spoken_text,
    truth_transcript,
    violations,
)

from efir.exports import FORMATS, CueRules, render
from efir.transcripts.edits import SplitSegment, apply_edits
from efir.transcripts.model import Segment, Transcript, Word


@pytest.fixture(scope="module")
def seed() -> Transcript:
    return truth_transcript()


@pytest.mark.parametrize("fmt", ["srt", "vtt", "ttml"])
@pytest.mark.parametrize("fixture", TRUTH_FIXTURES)
def test_fixture_subtitles_break_no_rule_at_defaults(fixture: str, fmt: str) -> None:
    transcript = truth_transcript(fixture)
    cues = read_back(transcript, fmt)
    assert violations(cues, CueRules()) == []
    assert spoken_text(cues) == normalised(transcript.text)
    assert len(cues) >= transcript.duration / CueRules().max_duration_s


@pytest.mark.parametrize("fmt", ["srt", "vtt", "ttml"])
@pytest.mark.parametrize(
    "query",
    [
        {"max_chars_per_line": "32", "max_cps": "15", "max_delay_frames": "12"},
        {"max_lines": "1", "max_chars_per_line": "42"},
        {"fps": "30", "min_gap_frames": "3", "max_duration_s": "4"},
    ],
)
def test_seed_subtitles_follow_overridden_rules(
    seed: Transcript, fmt: str, query: dict[str, str]
) -> None:
    rules = CueRules.from_query(query)
    cues = read_back(seed, fmt, rules)
    assert violations(cues, rules) == []
    assert spoken_text(cues) == normalised(seed.text)
    if rules.max_lines == 1:
        assert all(len(cue.lines) == 1 for cue in cues)


def test_a_speaker_change_starts_a_new_cue_on_the_seed(seed: Transcript) -> None:
    cues = read_vtt(render(seed, "vtt").decode())
    turn_starts = [segment.start for segment in seed.segments]
    for start in turn_starts:
        assert any(abs(cue.start - start) <= 0.04 for cue in cues), start
    assert all(len(set(cue.voices)) == 1 for cue in cues)
    assert {voice for cue in cues for voice in cue.voices} == {
        "Ведущий",
        "Корр",
        "Наут ВАН ВАУДЕНБЕРГ",
        "Абылай-хан КАКЕНОВ",
        "Ерлан СПАНОВ",
    }


def test_independent_readers_agree_on_srt_and_vtt(seed: Transcript) -> None:
    srt = render(seed, "srt").decode()
    vtt = render(seed, "vtt").decode()
    by_pysubs2 = pysubs2.SSAFile.from_string(vtt, format_="vtt")
    by_webvtt = webvtt.WebVTT.from_buffer(io.StringIO(srt), format="srt")
    ours = read_srt(srt)
    assert [(c.start, c.end, "\n".join(c.lines)) for c in ours] == [
        (e.start / 1000, e.end / 1000, e.plaintext) for e in by_pysubs2
    ]
    assert [c.text for c in by_webvtt] == ["\n".join(c.lines) for c in ours]


def test_ttml_is_ebu_tt_d_shaped(seed: Transcript) -> None:
    root = ET.fromstring(render(seed, "ttml"))
    assert root.tag == "{http://www.w3.org/ns/ttml}tt"
    assert root.get("{http://www.w3.org/ns/ttml#parameter}timeBase") == "media"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "ru"
    assert root.find(".//{http://www.w3.org/ns/ttml}region") is not None
    for paragraph in root.iter("{http://www.w3.org/ns/ttml}p"):
        for clock in (paragraph.get("begin"), paragraph.get("end")):
            milliseconds = int(clock[-3:])
            assert milliseconds % 40 == 0, clock  # on a 25 fps frame


def test_ttml_frame_timecodes_give_the_same_cues(seed: Transcript) -> None:
    data = render(seed, "ttml", timecodes=True)
    root = ET.fromstring(data)
    assert root.get("{http://www.w3.org/ns/ttml#parameter}frameRate") == "25"
    first = root.find(".//{http://www.w3.org/ns/ttml}p")
    assert first is not None and first.get("begin") == "00:00:03:02"  # 3.08 s
    framed = read_back(seed, "ttml", timecodes=True)
    clocked = read_back(seed, "ttml")

    def rounded(cues: list[ReadCue]) -> list[tuple[float, float, tuple[str, ...]]]:
        return [(round(c.start, 3), round(c.end, 3), c.lines) for c in cues]

    assert rounded(framed) == rounded(clocked)


def test_text_export_reads_like_the_newsroom_transcript(seed: Transcript) -> None:
    text = render(seed, "txt").decode()
    blocks = text.strip().split("\n\n")
    assert len(blocks) == len(seed.segments)
    assert blocks[0].startswith("Ведущий:\nРаботу неправительственных")
    assert blocks[1].startswith("Корр:\nГлавная тема")
    assert blocks[6] == (
        "Ерлан СПАНОВ, ЗАМЕСТИТЕЛЬ АКИМА КОСТАНАЙСКОЙ ОБЛАСТИ:\n«Сегодня неправительственный "
        "сектор области достаточно серьезно заявляет о себе в решении основных социальных "
        "вопросов населения»."
    )
    timed = render(seed, "txt", timecodes=True).decode()
    assert "[00:01:56] Ерлан СПАНОВ, ЗАМЕСТИТЕЛЬ АКИМА КОСТАНАЙСКОЙ ОБЛАСТИ:" in timed


def test_consecutive_segments_of_one_speaker_are_one_turn(seed: Transcript) -> None:
    split = apply_edits(seed, [SplitSegment(segment_id=0, at_word=10)])
    assert len(split.segments) == len(seed.segments) + 1
    assert render(split, "txt") == render(seed, "txt")


def test_docx_opens_and_carries_captions_and_text(seed: Transcript) -> None:
    document = docx.Document(io.BytesIO(render(seed, "docx", title="Гражданский форум")))
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == "Гражданский форум"
    bold = [run.text for p in document.paragraphs for run in p.runs if run.bold]
    assert bold == [f"{seed.speaker(s.speaker).caption}:" for s in seed.segments]
    assert "00:01:56–00:02:05  Ерлан СПАНОВ, ЗАМЕСТИТЕЛЬ АКИМА КОСТАНАЙСКОЙ ОБЛАСТИ:" in paragraphs
    body = " ".join(p for p in paragraphs if not p.startswith("00:"))
    assert "Мы поддерживаем различные проекты в Казахстане" in body


def test_json_export_round_trips(seed: Transcript) -> None:
    assert Transcript.from_json(render(seed, "json")) == seed
    assert json.loads(render(seed, "json"))["speakers"][2]["caption"].startswith("Наут ВАН")


def test_formats_and_unknown_format() -> None:
    assert set(FORMATS) == {"srt", "vtt", "ttml", "stl", "txt", "docx", "json"}
    assert FORMATS["vtt"].extension == "vtt"
    with pytest.raises(ValueError, match="srt, vtt, ttml, stl, txt, docx, json"):
        render(truth_transcript(), "pdf")


def test_rule_overrides_are_validated() -> None:
    assert CueRules.from_query({"max_cps": "20", "format": "srt"}).max_cps == 20
    with pytest.raises(ValueError, match="max_lines must be an integer"):
        CueRules.from_query({"max_lines": "two"})
    with pytest.raises(ValueError, match="max_chars_per_line must be between"):
        CueRules.from_query({"max_chars_per_line": "3"})
    with pytest.raises(ValueError, match="min_duration_s"):
        CueRules.from_query({"min_duration_s": "9"})


def _spoken_at(text: str, start: float, chars_per_second: float) -> tuple[Word, ...]:
    words, clock = [], start
    for token in text.split():
        duration = (len(token) + 1) / chars_per_second
        words.append(Word(round(clock, 3), round(clock + duration, 3), token))
        clock += duration
    return tuple(words)


def test_fast_speech_is_held_into_the_pause_not_sped_up(seed: Transcript) -> None:
    """A seed sentence spoken at 22 characters a second, then a pause: its cue stays up
    into the pause long enough to be read at 17, instead of vanishing with the speech."""
    burst = "Своим опытом поделились представители Великобритании, Нидерландов."
    calm = "Подробности в материале моих коллег."
    fast_words = _spoken_at(burst, 1.0, 22.0)
    calm_words = _spoken_at(calm, fast_words[-1].end + 1.5, 12.0)
    transcript = Transcript(
        duration=calm_words[-1].end + 1,
        language="ru",
        model="test",
        segments=(
            Segment(0, fast_words[0].start, fast_words[-1].end, burst, "korr", fast_words),
            Segment(1, calm_words[0].start, calm_words[-1].end, calm, "korr", calm_words),
        ),
        speakers=seed.speakers,
    )
    speech_rate = len(burst) / (fast_words[-1].end - fast_words[0].start)
    assert speech_rate > 20
    for fmt in ("srt", "vtt", "ttml"):
        cues = read_back(transcript, fmt)
        assert violations(cues, CueRules()) == []
        assert spoken_text(cues) == normalised(transcript.text)
        burst_cues = [c for c in cues if c.start < fast_words[-1].end]
        assert burst_cues[-1].end >= fast_words[-1].end + 0.5


def test_a_cue_does_not_end_on_the_first_words_of_a_new_sentence(seed: Transcript) -> None:
    """The seed's opening as the bundled model heard and timed it: its first cue used to
    end «…обсудили в Костанае. Здесь прошел», the new sentence's first words cut off
    from the rest of it."""
    heard = [
        [(2.9, 3.58, "Работу"), (3.58, 4.64, "неправительственных"),
         (4.64, 5.5, "организаций"), (5.5, 6.16, "обсудили"), (6.16, 6.32, "в"),
         (6.32, 6.86, "Костанае.")],
        [(7.36, 7.66, "Здесь"), (7.66, 8.34, "прошел"), (8.34, 9.24, "одиннадцатый"),
         (9.24, 9.8, "почет"), (9.8, 9.94, "у"), (9.94, 10.74, "гражданских"),
         (10.74, 11.2, "форум"), (11.2, 12.3, "мероприятий"), (12.3, 12.48, "в"),
         (12.48, 12.68, "этом"), (12.68, 13.0, "году.")],
    ]  # fmt: skip
    segments = tuple(
        Segment(
            i,
            words[0][0],
            words[-1][1],
            " ".join(w for _, _, w in words),
            "anchor",
            tuple(Word(start, end, w) for start, end, w in words),
        )
        for i, words in enumerate(heard)
    )
    transcript = Transcript(
        duration=14.0, language="ru", model="test", segments=segments, speakers=seed.speakers
    )
    cues = read_back(transcript, "srt")
    assert violations(cues, CueRules()) == []
    assert cues[0].spoken_text.split()[-1] == "Костанае."
    for cue in cues:
        words = cue.spoken_text.split()
        begun = any(word.endswith(".") for word in words[:-1])
        assert not begun or words[-1].endswith("."), cue.lines


def test_seed_a_tenth_faster_still_breaks_no_rule() -> None:
    fast = truth_transcript(speed=1.1)
    for fmt in ("srt", "vtt", "ttml"):
        cues = read_back(fast, fmt)
        assert violations(cues, CueRules()) == []
        assert spoken_text(cues) == normalised(fast.text)


@pytest.mark.slow
def test_a_real_asr_transcript_exports_with_no_violation(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The bundled Whisper model on the second fixture clip: its own word times, its own
    punctuation, its diarized speakers; every subtitle format still keeps every rule."""
    from efir.config import Settings
    from worker.pipeline import pipeline_options_from_settings, run_pipeline

    settings = Settings(cache_dir=tmp_path_factory.mktemp("cache"), cpu_threads=1)
    clip = FIXTURES / "second" / "second.wav"
    transcript = run_pipeline(clip, pipeline_options_from_settings(settings)).transcript
    assert len(transcript.segments) >= 3
    for fmt in ("srt", "vtt", "ttml"):
        cues = read_back(transcript, fmt)
        assert violations(cues, CueRules()) == []
        assert spoken_text(cues) == normalised(transcript.text)
