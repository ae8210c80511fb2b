"""Property tests: generated transcripts with shot changes drawn at random (at least a
second apart, as cuts are) export with no cue boundary 1-11 frames off a cut, and still
within every broadcast rule the same speech keeps without cuts."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.subtitle_rules import read_srt, violations
from test_exports_generated import realistic_transcripts
from test_shots import _offences

from efir.exports import CueRules, build_cues, render
from efir.transcripts.model import Transcript

PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def shot_changes(draw: st.DrawFn, duration: float) -> list[float]:
    """Cut times on whole frames, at least 25 frames apart."""
    frames = int(duration * 25)
    gaps = draw(st.lists(st.integers(25, 250), max_size=40))
    times, at = [], 0
    for gap in gaps:
        at += gap
        if at >= frames:
            break
        times.append(at / 25)
    return times


@st.composite
def cut_programmes(draw: st.DrawFn) -> tuple[Transcript, list[float]]:
    transcript = draw(realistic_transcripts())
    return transcript, draw(shot_changes(transcript.duration))


@PROPERTY
@given(cut_programmes())
def test_no_cue_edge_lies_a_few_frames_off_a_cut(programme: tuple[Transcript, list[float]]) -> None:
    transcript, shots = programme
    rules = CueRules()
    assert _offences(build_cues(transcript, rules, shots), shots, rules) == []
    cues = read_srt(render(transcript, "srt", shot_changes=shots).decode())
    assert violations(cues, rules) == []
