"""EBU STL export, read back by an independent reader (ttconv's STL reader, sandflow):
text (Cyrillic included), timecodes at 25 fps, teletext's 37-character lines, and the
file's structure by EBU Tech 3264."""

from __future__ import annotations

import io
from collections.abc import Iterator
from fractions import Fraction

import pytest
import ttconv.model as tt
from support.subtitle_rules import truth_transcript
from ttconv.stl.reader import to_model

from efir.exports import FORMATS, CueRules, build_cues, render
from efir.exports.rules import TELETEXT_MAX_CHARS, teletext_rules
from efir.transcripts.model import Segment, Speaker, Transcript, Word

GSI, TTI = 1024, 128


def _walk(element: tt.ContentElement) -> Iterator[tt.ContentElement]:
    for child in element:
        yield child
        yield from _walk(child)


def _read(data: bytes) -> list[tuple[Fraction, Fraction, list[str]]]:
    """(begin s, end s, lines) of each subtitle, as ttconv reads the file."""
    document = to_model(io.BytesIO(data))
    body = document.get_body()
    assert body is not None
    cues = []
    for paragraph in (e for e in _walk(body) if isinstance(e, tt.P)):
        lines, current = [], ""
        for element in _walk(paragraph):
            if isinstance(element, tt.Br):
                lines.append(current)
                current = ""
            elif isinstance(element, tt.Text):
                current += element.get_text()
        lines.append(current)
        begin, end = paragraph.get_begin(), paragraph.get_end()
        assert begin is not None and end is not None
        cues.append((begin, end, lines))
    return cues


def _teletext_text(line: str) -> str:
    """What ISO 8859-5 keeps of a line: typographic dashes and quotes become plain ones."""
    return line.translate(str.maketrans({"–": "-", "—": "-", "«": '"', "»": '"'}))


def test_seed_round_trips_text_and_timecodes_through_ttconv() -> None:
    transcript = truth_transcript("seed")
    cues = build_cues(transcript, teletext_rules(CueRules()))
    read = _read(render(transcript, "stl"))
    assert len(read) == len(cues)
    for cue, (begin, end, lines) in zip(cues, read, strict=True):
        assert (begin, end) == (Fraction(cue.start_frame, 25), Fraction(cue.end_frame, 25))
        assert lines == [_teletext_text(line) for line in cue.lines]
        assert all(len(line) <= TELETEXT_MAX_CHARS for line in lines)
    assert any("Костана" in line for _, _, lines in read for line in lines)


def test_dialogue_quotes_and_yo_survive() -> None:
    words = [(1.0, 1.5, "«Ёлки»"), (1.5, 2.0, "растут?")], [(2.6, 3.0, "Нет.")]
    segments = tuple(
        Segment(
            i, w[0][0], w[-1][1], " ".join(x[2] for x in w), f"S{i}", tuple(Word(*x) for x in w)
        )
        for i, w in enumerate(words)
    )
    transcript = Transcript(
        duration=5.0,
        language="ru",
        model="t",
        segments=segments,
        speakers=(Speaker("S0"), Speaker("S1")),
    )
    read = _read(render(transcript, "stl"))
    text = [line for _, _, lines in read for line in lines]
    assert any('"Ёлки"' in line for line in text)
    assert any("Нет." in line for line in text)


def test_file_structure_follows_tech_3264() -> None:
    transcript = truth_transcript("seed")
    data = render(transcript, "stl")
    cues = build_cues(transcript, teletext_rules(CueRules()))
    gsi = data[:GSI]
    assert gsi[0:3] == b"850"  # code page of the GSI block
    assert gsi[3:11] == b"STL25.01"
    assert gsi[11:12] == b"1"  # teletext level 1
    assert gsi[12:14] == b"01"  # ISO 8859-5 Cyrillic text
    blocks = int(gsi[238:243])
    assert int(gsi[243:248]) == len(cues)
    assert len(data) == GSI + TTI * blocks
    first = data[GSI : GSI + TTI]
    assert int.from_bytes(first[1:3], "little") == 0 and first[3] == 0xFF
    assert list(first[5:9]) == [0, 0, cues[0].start_frame // 25, cues[0].start_frame % 25]
    assert FORMATS["stl"].extension == "stl"


def test_long_cues_continue_in_extension_blocks() -> None:
    transcript = truth_transcript("seed")
    rules = CueRules(max_lines=4)
    data = render(transcript, "stl", rules=rules)
    cues = build_cues(transcript, teletext_rules(rules))
    assert int(data[238:243]) > len(cues)  # some cue needed more than 112 bytes
    read = _read(data)
    assert [lines for _, _, lines in read] == [[_teletext_text(x) for x in c.lines] for c in cues]


@pytest.mark.parametrize("asked", [39, 30])
def test_the_teletext_preset_caps_lines_at_37(asked: int) -> None:
    rules = teletext_rules(CueRules(max_chars_per_line=asked, fps=30))
    assert (rules.max_chars_per_line, rules.fps) == (min(asked, 37), 25.0)
