"""Shot changes: the stage finds the kit's rendered cuts frame-exactly, and subtitle cues
timed to them never start or end a few frames off a cut (Netflix's 12-frame rule)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import pytest
from support.subtitle_rules import FIXTURES, read_srt, truth_transcript, violations

from efir.exports import CueRules, build_cues, render
from efir.exports.cues import Cue
from efir.exports.qc import check_cues
from efir.transcripts.model import Segment, Speaker, Transcript, Word
from worker.stages.shots import ShotOptions, detect_shots

SHOTS_CLIP = FIXTURES / "shots" / "shots.mp4"


def _truth_cut_frames(clip: Path, fps: float = 25.0) -> list[int]:
    truth = json.loads(clip.with_suffix("").with_suffix(".truth.json").read_text())
    # The kit switches the backdrop on the first frame at or after the cut time.
    return [math.ceil(t * fps - 1e-6) for t in truth["video"]["shots"]]


def _offences(cues: Sequence[Cue], shots_s: Sequence[float], rules: CueRules) -> list[str]:
    """Cue boundaries 1-11 frames from a shot change; an out-time exactly the minimum gap
    before a change is where the rule puts it."""
    shots = [round(t * rules.fps) for t in shots_s]
    found = []
    for number, cue in enumerate(cues, start=1):
        for shot in shots:
            if 0 < abs(cue.start_frame - shot) < rules.shot_snap_frames:
                found.append(f"cue {number} starts {cue.start_frame - shot:+d} fr from {shot}")
            out = cue.end_frame - (shot - rules.min_gap_frames)
            if out != 0 and abs(cue.end_frame - shot) < rules.shot_snap_frames:
                found.append(f"cue {number} ends {cue.end_frame - shot:+d} fr from {shot}")
    return found


@pytest.fixture(scope="module")
def detected() -> list[float]:
    return detect_shots(SHOTS_CLIP)


@pytest.mark.parametrize(
    "clip",
    [SHOTS_CLIP, FIXTURES / "captions" / "test" / "test1.mp4"],
    ids=["shots", "captions-test1"],
)
def test_every_rendered_cut_is_found_on_its_frame(clip: Path) -> None:
    found = [round(t * 25) for t in detect_shots(clip)]
    # Lower thirds appear and vanish on these clips too: none of them is a shot change.
    assert found == _truth_cut_frames(clip)


def test_audio_only_media_has_no_shots() -> None:
    assert detect_shots(FIXTURES / "seed" / "seed.wav") == []


def test_a_higher_content_threshold_misses_the_subtle_cuts() -> None:
    strict = detect_shots(SHOTS_CLIP, ShotOptions(content_threshold=60.0))
    assert len(strict) < len(_truth_cut_frames(SHOTS_CLIP))


def test_cues_on_the_rendered_clip_keep_clear_of_its_shot_changes(detected: list[float]) -> None:
    transcript = truth_transcript("shots")
    rules = CueRules()
    plain = build_cues(transcript, rules)
    timed = build_cues(transcript, rules, detected)
    assert _offences(plain, detected, rules), "the fixture should have cues near its cuts"
    assert _offences(timed, detected, rules) == []
    # Snapping moves times only: the same words, and no broadcast rule broken.
    assert [cue.lines for cue in timed] == [cue.lines for cue in plain]
    srt = render(transcript, "srt", shot_changes=detected).decode()
    assert violations(read_srt(srt), rules) == []
    assert [(c.start, c.end) for c in read_srt(srt)] == [(c.start, c.end) for c in timed]


def _one_speaker(words: list[tuple[float, float, str]], duration: float) -> Transcript:
    text = " ".join(word for _, _, word in words)
    segment = Segment(
        0, words[0][0], words[-1][1], text, "S0", tuple(Word(s, e, w) for s, e, w in words)
    )
    return Transcript(
        duration=duration, language="ru", model="t", segments=(segment,), speakers=(Speaker("S0"),)
    )


def test_in_time_moves_onto_a_cut_and_out_time_two_frames_before_the_next() -> None:
    # Two sentences; the picture cuts 6 frames after the first word, and 5 frames after
    # the first cue would end.
    transcript = _one_speaker(
        [
            (1.0, 1.4, "Вода"),
            (1.4, 2.0, "поднялась."),
            (4.0, 4.5, "Дамбу"),
            (4.5, 5.2, "укрепили."),
        ],
        8.0,
    )
    rules = CueRules()
    plain = build_cues(transcript, rules)
    first_end = plain[0].end_frame
    shots = [(25 + 6) / 25, (first_end + 5) / 25]
    timed = build_cues(transcript, rules, shots)
    assert timed[0].start_frame == 31
    assert timed[0].end_frame == first_end + 5 - rules.min_gap_frames
    assert _offences(timed, shots, rules) == []


def test_a_cue_crossing_a_cut_by_a_few_frames_ends_before_it_or_holds_past_it() -> None:
    transcript = _one_speaker([(1.0, 1.6, "Вода"), (1.6, 3.0, "поднялась.")], 8.0)
    rules = CueRules()
    (plain,) = build_cues(transcript, rules)
    shot = plain.end_frame - 4
    (timed,) = build_cues(transcript, rules, [shot / 25])
    assert timed.end_frame in (shot - rules.min_gap_frames, shot + rules.shot_snap_frames)


def test_snapping_off_leaves_speech_timing() -> None:
    transcript = truth_transcript("shots")
    rules = CueRules(shot_snap_frames=0)
    assert build_cues(transcript, rules, [6.8, 11.12]) == build_cues(transcript, rules)


def test_qc_reports_the_cut_offences_of_speech_timed_cues(detected: list[float]) -> None:
    rules = CueRules()
    transcript = truth_transcript("shots")
    plain = build_cues(transcript, rules)
    found = [v for v in check_cues(plain, rules, detected) if v.rule.startswith("shot_change")]
    assert len(found) == len(_offences(plain, detected, rules)) > 0
    assert check_cues(build_cues(transcript, rules, detected), rules, detected) == []
