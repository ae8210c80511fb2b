"""Property tests: generated Russian-like transcripts export within the rules, and every
character (ё, «», —, the stress accent U+0301) survives each subtitle format."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.subtitle_rules import normalised, read_back, read_srt, spoken_text, violations

from efir.exports import CueRules, render
from efir.exports.rules import CLINGING_WORDS
from efir.transcripts.model import Segment, Speaker, SpeakerRole, Transcript, Word

LETTERS = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
VOWELS = "аеёиоуыэюя"
STRESS = "\u0301"
CLINGING = sorted(w for w in CLINGING_WORDS if "-" not in w)
SPEAKERS = (
    Speaker("anchor", role=SpeakerRole.ANCHOR),
    Speaker("korr", role=SpeakerRole.CORRESPONDENT),
    Speaker("guest", name="Ерлан СПАНОВ", title="ЗАМЕСТИТЕЛЬ АКИМА", role=SpeakerRole.INTERVIEWEE),
    Speaker("unknown"),
)


@st.composite
def content_words(draw: st.DrawFn) -> str:
    word = draw(st.text(LETTERS, min_size=1, max_size=13))
    if draw(st.booleans()):
        word = word.capitalize()
    vowels = [i for i, ch in enumerate(word) if ch.lower() in VOWELS]
    if vowels and draw(st.integers(0, 5)) == 0:
        at = draw(st.sampled_from(vowels)) + 1
        word = word[:at] + STRESS + word[at:]
    if draw(st.integers(0, 8)) == 0:
        word = f"«{word}»"
    return word + draw(st.sampled_from(["", "", "", "", ",", ",", ":", ";", ".", "?", "!", "…"]))


@st.composite
def sentences(draw: st.DrawFn, *, max_words: int) -> list[str]:
    """Content words with sparse prepositions and dashes, ending on a full stop."""
    count = draw(st.integers(3, max_words))
    tokens: list[str] = []
    while len(tokens) < count - 1:
        roll = draw(st.integers(0, 9))
        previous_plain = bool(tokens) and tokens[-1] not in CLINGING and tokens[-1] != "—"
        if roll == 0 and previous_plain:
            tokens.append("—")
        elif roll <= 2 and (not tokens or previous_plain):
            tokens.append(draw(st.sampled_from(CLINGING)))
        else:
            tokens.append(draw(content_words()))
    last = draw(content_words()).rstrip(",:;.?!…")
    return [*tokens, last + draw(st.sampled_from([".", "?", "!", "…"]))]


@st.composite
def realistic_transcripts(draw: st.DrawFn) -> Transcript:
    """Speech no faster than 14 characters a second (spaces included), natural pauses."""
    clock = draw(st.floats(0, 3))
    segments = []
    for index in range(draw(st.integers(1, 7))):
        speaker = draw(st.sampled_from(SPEAKERS)).id
        rate = draw(st.floats(7, 14))
        words = []
        for token in draw(sentences(max_words=30)):
            duration = (len(token) + 1) / rate
            words.append(Word(round(clock, 3), round(clock + duration, 3), token))
            clock += duration + draw(st.sampled_from([0.0, 0.0, 0.0, 0.05, 0.2, 0.6]))
        segments.append(
            Segment(
                index,
                words[0].start,
                words[-1].end,
                " ".join(w.word for w in words),
                speaker,
                tuple(words),
            )
        )
        clock += draw(st.floats(0.1, 2.5))
    return Transcript(clock + 1.0, "ru", "generated", tuple(segments), SPEAKERS)


@st.composite
def wild_transcripts(draw: st.DrawFn) -> Transcript:
    """Any timing at all: overlapping, out of order, zero-length, or no words."""
    segments = []
    for index in range(draw(st.integers(1, 6))):
        tokens = draw(sentences(max_words=25))
        times = st.floats(0, 40, allow_nan=False)
        words: tuple[Word, ...] = ()
        if draw(st.booleans()):
            words = tuple(Word(draw(times), draw(times), token) for token in tokens)
        start, end = sorted((draw(times), draw(times)))
        speaker = draw(st.sampled_from([*(s.id for s in SPEAKERS), None]))
        segments.append(Segment(index, start, end, " ".join(tokens), speaker, words))
    return Transcript(draw(st.floats(0, 50)), "ru", "generated", tuple(segments), SPEAKERS)


def _in_time_order(transcript: Transcript) -> str:
    ordered = sorted(transcript.segments, key=lambda s: (s.start, s.end))
    return normalised(" ".join(s.text for s in ordered))


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(realistic_transcripts(), st.sampled_from(["srt", "vtt", "ttml"]))
def test_generated_speech_exports_with_no_violation(transcript: Transcript, fmt: str) -> None:
    cues = read_back(transcript, fmt)
    assert violations(cues, CueRules()) == []
    assert spoken_text(cues) == _in_time_order(transcript)


@PROPERTY
@given(realistic_transcripts())
def test_generated_speech_keeps_narrow_rules(transcript: Transcript) -> None:
    rules = CueRules(max_chars_per_line=30, max_lines=1, max_cps=20)
    cues = read_back(transcript, "vtt", rules)
    assert violations(cues, rules) == []
    assert spoken_text(cues) == _in_time_order(transcript)


@PROPERTY
@given(wild_transcripts())
def test_any_timing_keeps_layout_order_gaps_and_every_character(transcript: Transcript) -> None:
    """Reading speed and minimum duration may be impossible for such input, and a cue may
    then have to end on a preposition; line layout, order, gaps and every character
    survive regardless."""
    cues = read_srt(render(transcript, "srt").decode())
    timing_limits = ("characters per second", "shorter than", "cue ends on")
    structural = [v for v in violations(cues, CueRules()) if not any(t in v for t in timing_limits)]
    assert structural == []
    assert spoken_text(cues) == _in_time_order(transcript)
