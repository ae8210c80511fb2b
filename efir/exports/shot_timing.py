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

    An in-time moving earlier pulls the cue before it back to its out position; an
    out-time moving back that would leave the cue under the minimum duration or over
    the reading speed is held ``shot_snap_frames`` past the change instead, where the
    next cue leaves room.
    """
    shots = shot_frames(shot_changes_s, rules.fps)
    if not rules.shot_snap_frames or not shots or not cues:
        return list(cues)
    starts = [cue.start_frame for cue in cues]
    ends = [cue.end_frame for cue in cues]
    gap = rules.min_gap_frames
    for i, cue in enumerate(cues):
        shot = in_time_offence(starts[i], shots, rules)
        if shot is not None and shot < starts[i] and (i == 0 or shot - gap > starts[i - 1]):
            if i > 0:
                ends[i - 1] = min(ends[i - 1], shot - gap)
            starts[i] = shot
        elif shot is not None and starts[i] < shot < ends[i]:
            starts[i] = shot
        shot = out_time_offence(ends[i], shots, rules)
        if shot is not None:
            next_start = starts[i + 1] if i + 1 < len(cues) else ends[i]
            ends[i] = _out_time(cue, starts[i], ends[i], shot, next_start, rules)
    return [
        replace(cue, start_frame=s, end_frame=e)
        for cue, s, e in zip(cues, starts, ends, strict=True)
    ]


def _out_time(cue: Cue, start: int, end: int, shot: int, next_start: int, rules: CueRules) -> int:
    """Where a cue ending at ``end`` near ``shot`` should end instead."""
    target = shot - rules.min_gap_frames
    if target > end:  # held on to the out position (a next cue this close snaps to the shot)
        return target if target - start <= rules.max_duration_frames else end
    chars = visible_length(" ".join(cue.lines))
    readable = start + max(
        rules.min_duration_frames, math.ceil(chars * rules.fps / rules.max_cps - 1e-9)
    )
    if target >= readable:
        return target
    held = shot + rules.shot_snap_frames
    if held + rules.min_gap_frames <= next_start and held - start <= rules.max_duration_frames:
        return held
    return target if target > start else end
