"""The QC report of a subtitle export: every cue that breaks a rule, with its timecode and
the reason; nothing on a clean export. Served at /api/v1/transcripts/{id}/export/qc."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from support.service_support import SettingsFactory, save_clip_with_transcript, session_factory
from support.subtitle_rules import FIXTURES, TRUTH_FIXTURES, read_srt, truth_transcript

from api.main import create_app
from efir.db import migrate
from efir.exports import CueRules, build_cues, quality_check
from efir.exports.cues import Cue
from efir.exports.qc import REASONS, check_cues, frame_timecode
from efir.media.analyses import save_analysis
from efir.transcripts.model import Segment, Speaker, Transcript, Word
from worker.stages.shots import detect_shots

LONG_WORD = "Сверхвысокочастотнорадиоэлектроннопромышленный"  # 46 letters, over a line


def _transcript(
    turns: list[tuple[str, list[tuple[float, float, str]]]], duration: float
) -> Transcript:
    segments = []
    for index, (speaker, words) in enumerate(turns):
        text = " ".join(word for _, _, word in words)
        timed = tuple(Word(start, end, word) for start, end, word in words)
        segments.append(Segment(index, words[0][0], words[-1][1], text, speaker, timed))
    speakers = tuple(Speaker(s) for s in dict.fromkeys(speaker for speaker, _ in turns))
    return Transcript(
        duration=duration, language="ru", model="t", segments=tuple(segments), speakers=speakers
    )


def _paced(text: str, start: float, seconds_per_word: float) -> list[tuple[float, float, str]]:
    words = text.split()
    return [
        (start + i * seconds_per_word, start + (i + 1) * seconds_per_word, word)
        for i, word in enumerate(words)
    ]


def _broken_transcript() -> Transcript:
    """Speech the cutter cannot fit into the rules: one word longer than a line, a fast
    speaker with no pause to hold cues into, a last word at the very end of the media."""
    fast = "мы успели поднять вещи на чердак а дом не бросим никогда потому что здесь вся жизнь"
    return _transcript(
        [
            ("A", [(0.52, 1.5, LONG_WORD)]),
            ("B", _paced(fast, 9.0, 0.12)),
            ("A", _paced("Следующий сюжет", 11.0, 0.4)),
            ("B", [(19.8, 19.95, "Всё.")]),
        ],
        duration=20.0,
    )


def test_every_rule_the_cutter_must_break_is_reported() -> None:
    transcript = _broken_transcript()
    rules = CueRules()
    cues = build_cues(transcript, rules)
    # Two cuts five frames apart next to the second speaker's cue: one of them is too close.
    start = cues[1].start_frame
    shots = [(start + 3) / 25, (start + 8) / 25]
    applied, found = quality_check(transcript, rules=rules, shot_changes=shots)
    assert applied == rules
    by_rule = {violation.rule: violation for violation in found}
    assert {"line_length", "reading_speed", "min_duration"} <= set(by_rule)
    assert {"shot_change_in", "shot_change_out"} & set(by_rule)
    long_line = by_rule["line_length"]
    assert (long_line.cue, long_line.timecode, long_line.value) == (1, "00:00:00:13", 46)
    assert long_line.reason_ru == "строка в 46 зн., допустимо 39"
    assert long_line.reason_en == "a line of 46 characters, limit 39"
    assert by_rule["min_duration"].text == "Всё."
    assert by_rule["reading_speed"].value > rules.max_cps
    # The same rule parameters as the export: allowing what was broken clears it.
    relaxed = CueRules(max_chars_per_line=60, max_cps=40, min_duration_s=0.1)
    _, left = quality_check(transcript, rules=relaxed)
    assert {v.rule for v in left} == set()


def test_rules_the_cutter_keeps_are_caught_on_hand_made_cues() -> None:
    rules = CueRules()
    cues = [
        Cue(0, 300, ("Одна строка", "вторая", "и третья"), ("A",) * 3, 25.0),  # 12 s, 3 lines
        Cue(301, 350, ("Встык.",), ("A",), 25.0),  # 1 frame after the one before
        Cue(400, 450, ("Чисто.",), ("A",), 25.0),
    ]
    found = check_cues(cues, rules)
    assert {(v.cue, v.rule) for v in found} == {(1, "max_duration"), (1, "line_count"), (1, "gap")}
    gap = next(v for v in found if v.rule == "gap")
    assert (gap.value, gap.limit) == (1, 2)
    assert gap.reason_en == "1 frames to the next cue, minimum 2"


def test_every_rule_has_a_reason_in_both_languages() -> None:
    for rule, (ru, en) in REASONS.items():
        assert ru.format(value=1.5, limit=2) != en.format(value=1.5, limit=2), rule


@pytest.mark.parametrize("fixture", TRUTH_FIXTURES)
@pytest.mark.parametrize("fmt", ["srt", "stl"])
def test_a_clean_export_has_an_empty_report(fixture: str, fmt: str) -> None:
    video = FIXTURES / fixture / f"{fixture}.mp4"
    shots = detect_shots(video) if video.exists() else []
    _, found = quality_check(truth_transcript(fixture), fmt, shot_changes=shots)
    assert found == []


def test_timecodes_count_frames() -> None:
    assert frame_timecode(25 * 3723 + 7, 25.0) == "01:02:03:07"


def test_api_serves_the_report_with_the_export_rules(
    database_url: str, make_settings: SettingsFactory
) -> None:
    settings = make_settings(database_url=database_url)
    migrate(settings.sqlalchemy_url)
    too_fast = " ".join(["быстро"] * 14)  # 97 characters in 3 s
    clip_id = save_clip_with_transcript(settings.sqlalchemy_url, too_fast)
    with session_factory(settings.sqlalchemy_url)() as session:
        save_analysis(session, clip_id, "shots", {"times_s": [1.0]})
        session.commit()
    client = TestClient(create_app(settings), base_url="http://127.0.0.1")

    report = client.get(f"/api/v1/transcripts/{clip_id}/export/qc")
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["clip_id"], body["format"], body["shots_known"]) == (clip_id, "srt", True)
    assert body["rules"]["max_cps"] == 17
    # Counts read as counts: the raw JSON says "max_lines": 2, not 2.0.
    assert '"max_lines":2,' in report.text
    rules = {v["rule"] for v in body["violations"]}
    assert "reading_speed" in rules
    first = body["violations"][0]
    assert first["timecode"] == "00:00:00:00"
    assert first["reason_ru"] and first["reason_en"]

    relaxed = client.get(f"/api/v1/transcripts/{clip_id}/export/qc?max_cps=60")
    assert "reading_speed" not in {v["rule"] for v in relaxed.json()["violations"]}
    teletext = client.get(f"/api/v1/transcripts/{clip_id}/export/qc?format=stl").json()
    assert teletext["rules"]["max_chars_per_line"] == 37
    assert client.get(f"/api/v1/transcripts/{clip_id}/export/qc?format=pdf").status_code == 422

    # The export itself is timed to the stored shot change: no cue edge 1-11 frames off it.
    srt = client.get(f"/api/v1/transcripts/{clip_id}/export?format=srt").text
    for cue in read_srt(srt):
        assert not 0 < abs(round(cue.start * 25) - 25) < 12
        assert round(cue.end * 25) == 23 or abs(round(cue.end * 25) - 25) >= 12
