"""The cut stage alone (worker/stages/cut.py) on the seed with real ffmpeg: the lower
third drawn and read back, sound-only files, sidecar WebVTT, progress, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from rapidfuzz import fuzz
from support.cut_support import (
    drawn_box,
    ffprobe_streams,
    ocr_text,
    seed_transcript,
    video_frame,
)

from efir.cuts.overlay import cut_cues, shots_within
from efir.cuts.spec import CutFormat, CutRequest, SubtitleMode
from efir.errors import InvalidCutError
from efir.exports import CueRules
from worker.stages.cut import render_cut

SEED = Path(__file__).resolve().parents[1] / "fixtures" / "seed"
# Наут ВАН ВАУДЕНБЕРГ's answer, from a word's start to a word's end.
START_S, END_S = 46.17, 51.21


def test_the_lower_third_names_the_speaker_on_the_picture(tmp_path: Path) -> None:
    seen: list[float] = []
    output = render_cut(
        SEED / "seed.mp4",
        seed_transcript(),
        CutRequest(start_s=START_S, end_s=END_S, lower_third=True),
        tmp_path,
        on_progress=seen.append,
    )
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert output.subtitles is None
    at_s = 1.0
    drawn = video_frame(output.media, at_s, tmp_path / "drawn.png")
    plain = video_frame(
        SEED / "seed.mp4", output.first_frame / output.fps + at_s, tmp_path / "plain.png"
    )
    bounds = drawn_box(drawn, plain)
    assert bounds is not None, "nothing was drawn"
    assert bounds[0] < drawn.width / 3  # over the left of the picture
    read = ocr_text(drawn.crop(bounds))
    assert fuzz.partial_ratio("наут ван вауденберг", read.lower()) >= 80, read
    # Gone after its seconds: the picture is the original again.
    later = video_frame(output.media, 4.8, tmp_path / "later.png")
    again = video_frame(
        SEED / "seed.mp4", output.first_frame / output.fps + 4.8, tmp_path / "p2.png"
    )
    assert drawn_box(later, again) is None


@pytest.mark.parametrize("fmt", [CutFormat.MP3, CutFormat.WAV])
def test_sound_only_cuts_decode_no_picture(tmp_path: Path, fmt: CutFormat) -> None:
    output = render_cut(
        SEED / "seed.mp4",
        seed_transcript(),
        CutRequest(start_s=START_S, end_s=END_S, format=fmt, subtitles=SubtitleMode.SIDECAR,
                   sidecar="vtt"),
        tmp_path,
    )  # fmt: skip
    streams = ffprobe_streams(output.media)
    assert set(streams) == {"audio"}
    # MP3 frames hold 1152 samples: the file may run up to one more of them.
    slack_s = 1 / 25 + 1e-6 + (1152 / 48000 if fmt is CutFormat.MP3 else 0)
    assert abs(float(streams["audio"]["duration"]) - (END_S - START_S + 0.4)) <= slack_s
    assert output.subtitles is not None and output.subtitles.suffix == ".vtt"
    vtt = output.subtitles.read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT") and "<v Наут ВАН ВАУДЕНБЕРГ>связанная" in vtt


def test_a_cuts_own_rules_shape_its_subtitles(tmp_path: Path) -> None:
    def longest_line(rules: tuple[tuple[str, float], ...] = ()) -> int:
        request = CutRequest(
            start_s=START_S,
            end_s=END_S,
            format=CutFormat.WAV,
            subtitles=SubtitleMode.SIDECAR,
            rules=rules,
        )
        output = render_cut(SEED / "seed.wav", seed_transcript(), request, tmp_path)
        assert output.subtitles is not None
        srt = output.subtitles.read_text(encoding="utf-8").split("\n\n")
        return max(len(line) for cue in srt for line in cue.splitlines()[2:])

    assert longest_line() > 20
    assert longest_line(rules=(("max_chars_per_line", 20),)) <= 20


def test_video_of_a_sound_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidCutError, match="no video"):
        render_cut(
            SEED / "seed.wav", seed_transcript(), CutRequest(start_s=START_S, end_s=END_S), tmp_path
        )


def test_a_cuts_cues_are_timed_to_the_shot_changes_inside_it() -> None:
    """The clip's shot changes, moved onto the cut's timeline, time its subtitles as they
    time the clip's export: no cue edge 1-11 frames from a change inside the cut."""
    transcript = seed_transcript()
    start_s, end_s, fps = 40.0, 70.0, 25.0
    plain = cut_cues(transcript, start_s, end_s, CueRules(fps=fps))
    # A change 5 frames after a cue's start in the untimed cues, as an editor cuts early.
    change_s = start_s + plain[1].start + 5 / fps
    assert shots_within([10.0, change_s, 90.0], start_s, end_s) == [change_s - start_s]

    timed = cut_cues(transcript, start_s, end_s, CueRules(fps=fps), [10.0, change_s, 90.0])
    edges = [frame for cue in timed for frame in (cue.start * fps, cue.end * fps)]
    change_frame = (change_s - start_s) * fps
    assert not [e for e in edges if 0.5 < abs(e - change_frame) < 11.5]
    assert [cue.text for cue in timed] == [cue.text for cue in plain]
    assert timed != plain
