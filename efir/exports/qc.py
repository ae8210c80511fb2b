"""QC report of a subtitle export: every cue that breaks a rule, when it is on screen, why.

The cue cutter keeps the hard rules (line length and count) except where one word is
longer than a line, and breaks the timing rules only where speech leaves no choice (a
fast speaker, a word at the very end of the media, two cuts a few frames apart). An
editor or a playout checker needs to see those places; this report lists them, cue
by cue, with a rule code and the reason in Russian and English (``REASONS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from efir.exports.cues import Cue
from efir.exports.rules import CueRules, visible_length
from efir.exports.shot_timing import in_time_offence, out_time_offence, shot_frames

__all__ = ["REASONS", "Violation", "check_cues", "frame_timecode"]

# Rule code → reason (ru, en); {value} is what the cue has, {limit} what the rule allows.
REASONS: dict[str, tuple[str, str]] = {
    "reading_speed": (
        "скорость чтения {value:g} зн./с, допустимо {limit:g}",
        "reading speed {value:g} characters/s, limit {limit:g}",
    ),
    "min_duration": (
        "на экране {value:g} с, минимум {limit:g} с",
        "on screen {value:g} s, minimum {limit:g} s",
    ),
    "max_duration": (
        "на экране {value:g} с, максимум {limit:g} с",
        "on screen {value:g} s, maximum {limit:g} s",
    ),
    "line_length": (
        "строка в {value:g} зн., допустимо {limit:g}",
        "a line of {value:g} characters, limit {limit:g}",
    ),
    "line_count": (
        "{value:g} строки, допустимо {limit:g}",
        "{value:g} lines, limit {limit:g}",
    ),
    "gap": (
        "до следующего титра {value:g} кадр., минимум {limit:g}",
        "{value:g} frames to the next cue, minimum {limit:g}",
    ),
    "shot_change_in": (
        "появляется за {value:g} кадр. от смены плана (меньше {limit:g})",
        "appears {value:g} frames off a shot change (under {limit:g})",
    ),
    "shot_change_out": (
        "исчезает за {value:g} кадр. от смены плана (меньше {limit:g})",
        "disappears {value:g} frames off a shot change (under {limit:g})",
    ),
}


@dataclass(frozen=True)
class Violation:
    cue: int  # 1-based, the cue's number in the SRT
    start: float  # s
    end: float
    timecode: str  # hh:mm:ss:ff of the cue's start at the rules' frame rate
    rule: str  # a key of REASONS
    value: float
    limit: float
    text: str

    @property
    def reason_ru(self) -> str:
        return REASONS[self.rule][0].format(value=self.value, limit=self.limit)

    @property
    def reason_en(self) -> str:
        return REASONS[self.rule][1].format(value=self.value, limit=self.limit)


def frame_timecode(frame: int, fps: float) -> str:
    """hh:mm:ss:ff, the timecode playout and edit suites show."""
    per_second = round(fps)
    seconds, frames = divmod(round(frame * per_second / fps), per_second)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}:{frames:02d}"


def check_cues(
    cues: Sequence[Cue], rules: CueRules, shot_changes: Sequence[float] = ()
) -> list[Violation]:
    """Every rule each cue breaks, in cue order; empty when the export is clean."""
    shots = shot_frames(shot_changes, rules.fps) if rules.shot_snap_frames else []
    found: list[Violation] = []
    for index, cue in enumerate(cues):
        following = cues[index + 1] if index + 1 < len(cues) else None
        for rule, value, limit in _broken(cue, following, rules, shots):
            found.append(
                Violation(
                    cue=index + 1,
                    start=cue.start,
                    end=cue.end,
                    timecode=frame_timecode(cue.start_frame, rules.fps),
                    rule=rule,
                    value=round(value, 2),
                    limit=round(limit, 2),
                    text=cue.text,
                )
            )
    return found


def _broken(
    cue: Cue, following: Cue | None, rules: CueRules, shots: Sequence[int]
) -> list[tuple[str, float, float]]:
    """(rule, value, limit) for each rule ``cue`` breaks."""
    frames = cue.end_frame - cue.start_frame
    broken: list[tuple[str, float, float]] = []
    if frames > 0:
        cps = visible_length(" ".join(cue.lines)) * rules.fps / frames
        if cps > rules.max_cps + 1e-9:
            broken.append(("reading_speed", cps, rules.max_cps))
    if frames < rules.min_duration_frames:
        broken.append(("min_duration", frames / rules.fps, rules.min_duration_s))
    if frames > rules.max_duration_frames:
        broken.append(("max_duration", frames / rules.fps, rules.max_duration_s))
    longest = max((visible_length(line) for line in cue.lines), default=0)
    if longest > rules.max_chars_per_line:
        broken.append(("line_length", longest, rules.max_chars_per_line))
    if len(cue.lines) > rules.max_lines:
        broken.append(("line_count", len(cue.lines), rules.max_lines))
    if following is not None:
        gap = following.start_frame - cue.end_frame
        if gap < rules.min_gap_frames:
            broken.append(("gap", gap, rules.min_gap_frames))
    shot = in_time_offence(cue.start_frame, shots, rules)
    if shot is not None:
        broken.append(("shot_change_in", abs(cue.start_frame - shot), rules.shot_snap_frames))
    shot = out_time_offence(cue.end_frame, shots, rules)
    if shot is not None:
        broken.append(("shot_change_out", abs(cue.end_frame - shot), rules.shot_snap_frames))
    return broken
