"""Broadcast subtitle rules: what a cue may look like on air, and where the numbers come from.

Defaults (every one can be overridden per request, e.g. ``?max_cps=20&max_lines=1``):

==================  =========  =====================================================
Rule                Default    Source
==================  =========  =====================================================
max_chars_per_line  39         Netflix Russian Timed Text Style Guide ("Characters
                               per line: 39")
max_lines           2          Netflix Timed Text Style Guide: General Requirements
                               ("no more than two lines")
min_duration_s      5/6 s      Netflix General Requirements: minimum duration 5/6 s
                               (20 frames at 24 fps; 21 frames at 25 fps here)
max_duration_s      7 s        Netflix General Requirements: maximum 7 s per event
max_cps             17         Netflix Russian guide: reading speed up to 17
                               characters per second for adult programmes
min_gap_frames      2          Netflix General Requirements: at least 2 frames
                               between events (80 ms at 25 fps)
fps                 25         PAL/SECAM broadcast frame rate; cue times are snapped
                               to whole frames
max_delay_frames    3          Netflix General Requirements, Timing: "timed to the
                               audio or, if necessary, within 3 frames of the audio";
                               a cue starts that late only when the cue before it
                               needs the reading time
shot_snap_frames    12         Netflix General Requirements, Shot Changes: an in-
                               or out-time within 12 frames of a shot change moves
                               to it (in: on the change; out: 2 frames before it);
                               0 turns snapping off
==================  =========  =====================================================

How efir applies them:

- Characters are counted as a reader sees them: combining marks (the stress accent
  U+0301) do not count; spaces and punctuation do. Reading speed is the cue's characters
  (lines joined by one space) divided by its display time.
- Lines break at clause boundaries (after punctuation) where they can, and never after a
  preposition, conjunction or particle (``в``, ``на``, ``и``, ``не``…): such a word stays
  with the word it governs.
- A speaker change starts a new cue; two short turns may share one cue as two dash
  lines (``– Да.`` / ``– Нет.``), one line per speaker.
- Where speech outruns ``max_cps``, the cue is split and each part is held on screen
  into the following silence (or up to ``max_delay_frames`` into the next cue's time) rather
  than shown faster; gaps under half a second are closed to exactly ``min_gap_frames``
  (Netflix "chaining" practice). Only speech that stays too fast for longer than that
  can absorb leaves a cue over the reading speed.
- Where the clip's shot changes are known (the worker measures them once per video), a
  cue's in-time within ``shot_snap_frames`` of a change moves onto it and its out-time
  to ``min_gap_frames`` before it, so no cue starts or ends a few frames off a cut or
  crosses one by a few frames; where moving the out-time back would break the minimum
  duration or the reading speed, the cue is held ``shot_snap_frames`` past the change.
- EBU STL (teletext) lines hold at most 37 characters (``TELETEXT_MAX_CHARS``: 40
  columns less the control codes around a line); its export applies that limit and
  25 fps whatever the request says.
- TTML follows EBU-TT-D (EBU Tech 3380): ``ttp:timeBase="media"``, clock times that are
  exact multiples of a frame, ``tts:`` styling, one ``region``, speakers as ``ttm:agent``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from efir.errors import InvalidExportError

__all__ = ["CLINGING_WORDS", "TELETEXT_MAX_CHARS", "CueRules", "teletext_rules", "visible_length"]

# A teletext row has 40 columns; colour, double-height and box codes take three.
TELETEXT_MAX_CHARS = 37

# Words that must not end a line: prepositions, conjunctions and particles that belong
# with the word after them ("в | Костанае" is wrong, "в Костанае" stays together).
_CLINGING_WORDS_TEXT = """
    в во на с со к ко о об обо от ото по за из изо у до для без безо под подо при про
    через над перед передо сквозь между меж около после среди вокруг из-за из-под
    и а но или либо да что чтобы если как не ни
"""
CLINGING_WORDS = frozenset(_CLINGING_WORDS_TEXT.split())


def visible_length(text: str) -> int:
    """Characters a viewer reads: combining marks (the stress accent U+0301) do not count."""
    if not _COMBINING_BLOCKS.search(text):
        return len(text)
    return sum(1 for char in text if not unicodedata.combining(char))


# The combining-mark blocks Cyrillic and Latin text use (U+0301 is the Russian stress
# accent); most text has none, and the per-character count is then skipped.
_COMBINING_BLOCKS = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)


@dataclass(frozen=True)
class CueRules:
    """Limits every exported subtitle cue obeys; see the module docstring for sources."""

    max_chars_per_line: int = 39
    max_lines: int = 2
    min_duration_s: float = 5 / 6
    max_duration_s: float = 7.0
    max_cps: float = 17.0
    min_gap_frames: int = 2
    fps: float = 25.0
    max_delay_frames: int = 3
    shot_snap_frames: int = 12

    def __post_init__(self) -> None:
        problems = []
        if not 10 <= self.max_chars_per_line <= 200:
            problems.append("max_chars_per_line must be between 10 and 200")
        if not 1 <= self.max_lines <= 4:
            problems.append("max_lines must be between 1 and 4")
        if not 0 < self.min_duration_s <= self.max_duration_s:
            problems.append("min_duration_s must be positive and at most max_duration_s")
        if self.max_duration_s > 60:
            problems.append("max_duration_s must be at most 60")
        if not 5 <= self.max_cps <= 100:
            problems.append("max_cps must be between 5 and 100")
        if not 0 <= self.min_gap_frames <= 50:
            problems.append("min_gap_frames must be between 0 and 50")
        if not 0 <= self.max_delay_frames <= 50:
            problems.append("max_delay_frames must be between 0 and 50")
        if not 0 <= self.shot_snap_frames <= 50:
            problems.append("shot_snap_frames must be between 0 and 50")
        if not 10 <= self.fps <= 120:
            problems.append("fps must be between 10 and 120")
        if problems:
            raise InvalidExportError("; ".join(problems))

    @property
    def min_duration_frames(self) -> int:
        return math.ceil(self.min_duration_s * self.fps - 1e-9)

    @property
    def max_duration_frames(self) -> int:
        return math.floor(self.max_duration_s * self.fps + 1e-9)

    @classmethod
    def from_query(cls, mapping: Mapping[str, Any], *, strict: bool = False) -> CueRules:
        """Defaults overridden by the rule names present in ``mapping`` (query or CLI flags).

        Values may be strings. Keys that are not rule names are ignored, so a whole query
        string can be passed, unless ``strict`` (for CLI flags, where they are typos).
        Raises InvalidExportError naming the bad key.
        """
        names = [rule.name for rule in fields(cls)]
        unknown = sorted(set(mapping) - set(names))
        if strict and unknown:
            raise InvalidExportError(f"unknown rule {unknown[0]!r}; rules are: {', '.join(names)}")
        overrides: dict[str, Any] = {}
        for rule in fields(cls):
            value = mapping.get(rule.name)
            if value is None or value == "":
                continue
            kind = int if rule.type in ("int", int) else float
            try:
                overrides[rule.name] = kind(value)
            except (TypeError, ValueError):
                raise InvalidExportError(
                    f"{rule.name} must be {'an integer' if kind is int else 'a number'}, "
                    f"got {value!r}"
                ) from None
            if kind is float and not math.isfinite(overrides[rule.name]):
                raise InvalidExportError(f"{rule.name} must be a finite number, got {value!r}")
        return replace(cls(), **overrides)


def teletext_rules(rules: CueRules) -> CueRules:
    """``rules`` as EBU STL teletext allows them: lines of at most 37 characters, 25 fps."""
    return replace(
        rules, max_chars_per_line=min(rules.max_chars_per_line, TELETEXT_MAX_CHARS), fps=25.0
    )
