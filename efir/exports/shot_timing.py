"""Cue times against the picture: in- and out-times moved onto the clip's shot changes.

Netflix's timing rules (General Requirements, "Shot Changes"): a subtitle that appears
or disappears a few frames off a cut makes the picture flicker. An in-time within
``shot_snap_frames`` (12) of a shot change moves onto it; an out-time that close moves
to ``min_gap_frames`` (2) before it, so a cue never crosses a cut by a few frames. The
QC report (efir.exports.qc) uses the same two tests to flag what could not be moved.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from efir.exports.rules import CueRules, visible_length

if TYPE_CHECKING:  # cues.py calls snap_to_shots
    from efir.exports.cues import Cue

__all__ = ["in_time_offence", "out_time_offence", "shot_frames", "snap_to_shots"]


def shot_frames(shot_changes_s: Iterable[float], fps: float) -> list[int]:
    """The frames where a new shot starts, sorted, at the cues' frame rate."""
    return sorted({round(time_s * fps) for time_s in shot_changes_s})


def in_time_offence(start_frame: int, shots: Sequence[int], rules: CueRules) -> int | None:
    """The shot change an in-time lies 1 to ``shot_snap_frames - 1`` frames from, if any."""
    for shot in _near(start_frame, shots, rules.shot_snap_frames):
        if shot != start_frame:
            return shot
    return None


def out_time_offence(end_frame: int, shots: Sequence[int], rules: CueRules) -> int | None:
    """The shot change an out-time lies within ``shot_snap_frames`` of without being
    ``min_gap_frames`` before it, if any."""
    for shot in _near(end_frame, shots, rules.shot_snap_frames):
        if end_frame != shot - rules.min_gap_frames:
            return shot
    return None


def _near(frame: int, shots: Sequence[int], window: int) -> list[int]:
    """Shot changes less than ``window`` frames from ``frame``, nearest first."""
    at = bisect.bisect_left(shots, frame)
    close = [s for s in shots[max(0, at - 2) : at + 2] if abs(s - frame) < window]
    return sorted(close, key=lambda s: abs(s - frame))


def snap_to_shots(
    cues: Sequence[Cue], shot_changes_s: Sequence[float], rules: CueRules
) -> list[Cue]:
    """``cues`` with in- and out-times near a shot change moved onto it (see module doc).

    Where that would break a timing rule (the maximum duration, or the minimum duration
    and reading speed when an out-time moves back), the time moves the other way instead,
    ``shot_snap_frames`` clear of the change: a cue then starts or ends well off the cut
    rather than a few frames off it.
    """
    shots = shot_frames(shot_changes_s, rules.fps)
    if not rules.shot_snap_frames or not shots or not cues:
        return list(cues)
    starts = [cue.start_frame for cue in cues]
    ends = [cue.end_frame for cue in cues]
    for i, cue in enumerate(cues):
        shot = in_time_offence(starts[i], shots, rules)
        if shot is not None:
            starts[i] = _in_time(i, shot, starts, ends, rules)
        shot = out_time_offence(ends[i], shots, rules)
        if shot is not None:
            next_start = starts[i + 1] if i + 1 < len(cues) else None
            ends[i] = _out_time(cue, starts[i], ends[i], shot, next_start, rules)
    return [
        replace(cue, start_frame=s, end_frame=e)
        for cue, s, e in zip(cues, starts, ends, strict=True)
    ]


def _in_time(i: int, shot: int, starts: list[int], ends: list[int], rules: CueRules) -> int:
    """Where cue ``i``, starting near ``shot``, should start; an earlier start pulls the
    cue before it back to keep the gap."""
    window, gap = rules.shot_snap_frames, rules.min_gap_frames
    for start in (shot, shot + window, shot - window):
        too_long = ends[i] - start > rules.max_duration_frames
        if start < 0 or start >= ends[i] or too_long:
            continue
        if i > 0 and start < starts[i]:
            if start - gap <= starts[i - 1]:
                continue  # the cue before would vanish
            ends[i - 1] = min(ends[i - 1], start - gap)
        return start
    return starts[i]


def _out_time(
    cue: Cue, start: int, end: int, shot: int, next_start: int | None, rules: CueRules
) -> int:
    """Where a cue ending at ``end`` near ``shot`` should end instead: on its out position
    (``min_gap_frames`` before the change), else held ``shot_snap_frames`` past it, else
    ending that much before it; a choice that keeps the reading speed and the minimum
    duration first, where moving back would cost them."""
    window, gap = rules.shot_snap_frames, rules.min_gap_frames
    out = shot - gap
    before, after = shot - window, shot + window
    choices = (out, before, after) if end < out else (out, after, before)
    chars = visible_length(" ".join(cue.lines))
    readable = start + max(
        rules.min_duration_frames, math.ceil(chars * rules.fps / rules.max_cps - 1e-9)
    )
    # The last cue is not held past its end (the media may end there); a next cue
    # starting before the change is moved onto it, so the out position is always free.
    latest = end if next_start is None else next_start - gap

    def allowed(choice: int) -> bool:
        fits = choice <= latest or (choice == out and next_start is not None)
        return fits and start < choice and choice - start <= rules.max_duration_frames

    if end < out and allowed(out):
        return out  # longer on screen than it was: never worse to read
    for comfortable in (True, False):
        for choice in choices:
            if allowed(choice) and (choice >= readable or not comfortable):
                return choice
    return end
