"""Cutting a transcript into subtitle cues by broadcast rules.

The words of the whole transcript form one timed stream. A cue is a run of consecutive
words; the best set of cues is chosen by dynamic programming over every possible cut, so
a long sentence is split where the rules and the punctuation allow rather than where a
fixed timer fires. Hard limits: line length, line count, at most one speaker change per
cue (and then as two dash lines), no line ending on a preposition; a cue that begins a
new sentence and ends before it does costs more. Timing limits (minimum
and maximum duration, reading speed, gap) are costs so high that they are broken only
where speech leaves no other choice. A cue starts on the frame its first word starts (or
up to ``max_delay_frames`` later, when the cue before it needs the time) and is held into the
following silence as long as reading speed needs, up to the gap rule. Given the clip's
shot changes, in- and out-times near a cut then move onto it (efir.exports.shot_timing).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from efir.exports.rules import CLINGING_WORDS, CueRules, visible_length
from efir.exports.shot_timing import snap_to_shots
from efir.transcripts.edits import align_words, share_span
from efir.transcripts.model import Transcript

__all__ = ["DASH", "Cue", "build_cues", "media_clock"]

DASH = "– "  # opens each line of a cue shared by two speakers

_SENTENCE_END = ".!?…"
_CLAUSE_END = ",;:"
_DASHES = frozenset("—–-")
_CLOSING = "»\"”)']"
_OPENING = "«„\"“('["
# Cost of cutting after a word, by the punctuation that ends it.
_CUT_COST = {"sentence": 0.0, "clause": 0.4, "none": 1.5}
_RULE_BREAK_COST = 100.0  # per second of missing display time
_BAD_CUT_COST = 6.0  # a cue ending on a preposition, or the next starting with a dash
_CHAIN_FRAMES = 12  # shorter gaps are closed to the minimum gap (no flicker)
_LONG_PAUSE_S = 1.5  # silence inside one speaker's cue that is better cut at
_MAX_CUE_WORDS = 40
_DELAY_COST = 0.05  # per frame a cue starts after its first word
_ORPHAN_COST = 1.0  # a cue ending on the first words of a sentence begun inside it


@dataclass(frozen=True)
class Cue:
    start_frame: int
    end_frame: int
    lines: tuple[str, ...]
    speakers: tuple[str | None, ...]  # the speaker of each line
    fps: float

    @property
    def start(self) -> float:
        return self.start_frame / self.fps

    @property
    def end(self) -> float:
        return self.end_frame / self.fps

    @property
    def dashed(self) -> bool:
        return len(set(self.speakers)) > 1

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def start_ms(self) -> int:
        return round(self.start_frame * 1000 / self.fps)

    @property
    def end_ms(self) -> int:
        return round(self.end_frame * 1000 / self.fps)


def media_clock(milliseconds: int) -> str:
    """hh:mm:ss.mmm, the clock time WebVTT and EBU-TT-D both use."""
    seconds, millis = divmod(milliseconds, 1000)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}.{millis:03d}"


@dataclass(frozen=True)
class _Token:
    text: str
    start_frame: int
    end_frame: int
    speaker: str | None
    width: int  # visible characters
    ending: str  # the punctuation it ends on: "sentence", "clause" or "none"


@dataclass(frozen=True)
class _Shape:
    """A candidate cue's text, laid out; independent of when it is shown."""

    cost: float
    lines: tuple[str, ...]
    speakers: tuple[str | None, ...]
    chars: int


@dataclass(frozen=True)
class _Step:
    previous: tuple[int, int]  # (first token, delay in frames) of the state it came from
    cue: Cue


def build_cues(
    transcript: Transcript, rules: CueRules, shot_changes: Sequence[float] = ()
) -> list[Cue]:
    """Cues covering every word of ``transcript`` in order, cut by ``rules`` and timed to
    ``shot_changes`` (s, the first frame of each new shot) where given.

    The search state is (next word, how many frames late its cue may have to start): a
    cue that needs more reading time than its words take may hold on past the next word,
    whose cue then starts up to ``rules.max_delay_frames`` late.
    """
    tokens = _tokens(transcript, rules)
    if not tokens:
        return []
    media_end = max(round(transcript.duration * rules.fps), tokens[-1].end_frame)
    # best[i][delay]: the cheapest cues for tokens[:i] leaving the next cue ``delay`` late
    best: list[dict[int, float]] = [{} for _ in range(len(tokens) + 1)]
    best[0][0] = 0.0
    steps: dict[tuple[int, int], _Step] = {}
    for first in range(len(tokens)):
        if not best[first]:
            continue
        shapes = _shapes_from(tokens, first, rules)
        for delay, base in sorted(best[first].items()):
            for stop, shape in shapes:
                cue, cost, next_delay = _place(tokens, first, stop, shape, delay, media_end, rules)
                if base + cost < best[stop].get(next_delay, math.inf):
                    best[stop][next_delay] = base + cost
                    steps[(stop, next_delay)] = _Step((first, delay), cue)
    finals = best[len(tokens)]
    state = (len(tokens), min(finals, key=finals.__getitem__))
    cues: list[Cue] = []
    while state != (0, 0):
        step = steps[state]
        cues.append(step.cue)
        state = step.previous
    return snap_to_shots(cues[::-1], shot_changes, rules)


def _tokens(transcript: Transcript, rules: CueRules) -> list[_Token]:
    """The transcript's words in order, timed in frames.

    Word starts are kept at least a gap and a frame apart, so a cue of any single word
    fits before the next one and the segmentation always exists; only words shorter than
    that (a few frames) move, and by no more than it.
    """
    fps = rules.fps
    tokens: list[_Token] = []
    for segment in sorted(transcript.segments, key=lambda s: (s.start, s.end)):
        words = align_words(segment.words, segment.text) or share_span(
            (segment.start, segment.end), segment.text.split()
        )
        for word in words:
            floor = tokens[-1].start_frame + rules.min_gap_frames + 1 if tokens else 0
            start = max(round(word.start * fps), floor)
            end = max(round(word.end * fps), start + 1)
            width = visible_length(word.word)
            tokens.append(_Token(word.word, start, end, segment.speaker, width, _ending(word.word)))
    return tokens


def _too_long(tokens: Sequence[_Token], first: int, stop: int, rules: CueRules) -> bool:
    chars = _width(tokens[first:stop])
    speech = tokens[stop - 1].start_frame - tokens[first].start_frame
    return chars > rules.max_chars_per_line * rules.max_lines or speech > rules.max_duration_frames


def _shapes_from(tokens: Sequence[_Token], first: int, rules: CueRules) -> list[tuple[int, _Shape]]:
    """Every cue that may start at tokens[first], as (stop, shape); one word always may."""
    shapes = []
    for stop in range(first + 1, min(len(tokens), first + _MAX_CUE_WORDS) + 1):
        shape = _shape(tokens, first, stop, rules)
        if shape is not None:
            shapes.append((stop, shape))
        elif stop > first + 1 and _too_long(tokens, first, stop, rules):
            break
    return shapes


def _shape(tokens: Sequence[_Token], first: int, stop: int, rules: CueRules) -> _Shape | None:
    """The layout and text cost of one cue holding tokens[first:stop], None if not allowed."""
    words = tokens[first:stop]
    changes = [i for i in range(1, len(words)) if words[i].speaker != words[i - 1].speaker]
    if len(changes) > 1:
        return None
    texts = [t.text for t in words]
    cost = 1.0 + _cut_cost(tokens, stop)
    if changes:
        lines = _dash_lines(texts[: changes[0]], texts[changes[0] :], rules)
        if lines is None:
            return None
        whole_turns = _turn_starts(tokens, first) and _turn_starts(tokens, stop)
        cost += 0.5 if whole_turns else 3.0
        speakers: tuple[str | None, ...] = (words[0].speaker, words[-1].speaker)
    else:
        layout = _layout(words, rules)
        if layout is None:
            if len(words) > 1:
                return None
            layout = (0.0, [texts[0]])  # one word longer than a line: show it anyway
        cost += layout[0] + 2.0 * sum(
            b.start_frame - a.end_frame > _LONG_PAUSE_S * rules.fps for a, b in pairwise(words)
        )
        lines = layout[1]
        speakers = (words[0].speaker,) * len(lines)
        # A new sentence begun inside the cue and left unfinished at its end: the
        # reader meets its first words apart from the rest («…в Костанае. Здесь прошел»).
        if words[-1].ending != "sentence" and any(word.ending == "sentence" for word in words[:-1]):
            cost += _ORPHAN_COST
    return _Shape(cost, tuple(lines), speakers, visible_length(" ".join(lines)))


def _place(
    tokens: Sequence[_Token],
    first: int,
    stop: int,
    shape: _Shape,
    delay: int,
    media_end: int,
    rules: CueRules,
) -> tuple[Cue, float, int]:
    """Time a cue starting ``delay`` frames after its first word: (cue, cost, next delay).

    It stays up as long as reading speed, minimum duration and its last word need, but
    not beyond the maximum duration, the media's end or the latest moment that lets the
    next cue start within ``max_delay_frames`` of its word; what is still missing is the cost.
    """
    start = tokens[first].start_frame + delay
    needed = max(
        start + rules.min_duration_frames,
        start + math.ceil(shape.chars * rules.fps / rules.max_cps - 1e-9),
        tokens[stop - 1].end_frame,
    )
    limit = start + rules.max_duration_frames
    if stop < len(tokens):
        next_word = tokens[stop].start_frame
        limit = min(limit, next_word + rules.max_delay_frames - rules.min_gap_frames)
        end = min(needed, limit)
        chained = next_word - rules.min_gap_frames
        if 0 <= chained - end < _CHAIN_FRAMES and chained - start <= rules.max_duration_frames:
            end = chained
        next_delay = max(0, end + rules.min_gap_frames - next_word)
    else:
        end = max(start + 1, min(needed, limit, media_end))
        next_delay = 0
    missing = max(0, needed - end)
    cost = shape.cost + _DELAY_COST * delay + _RULE_BREAK_COST * missing / rules.fps
    return Cue(start, end, shape.lines, shape.speakers, rules.fps), cost, next_delay


def _turn_starts(tokens: Sequence[_Token], index: int) -> bool:
    return index in (0, len(tokens)) or tokens[index].speaker != tokens[index - 1].speaker


def _cut_cost(tokens: Sequence[_Token], stop: int) -> float:
    """How bad it is to end a cue before tokens[stop]."""
    if stop == len(tokens) or tokens[stop].speaker != tokens[stop - 1].speaker:
        return 0.0
    cost = _CUT_COST[tokens[stop - 1].ending]
    if not _may_break(tokens[stop - 1].text, tokens[stop].text):
        cost += _BAD_CUT_COST
    return cost


def _ending(token: str) -> str:
    bare = token.rstrip(_CLOSING)
    if bare and bare[-1] in _SENTENCE_END:
        return "sentence"
    if (bare and bare[-1] in _CLAUSE_END) or token in _DASHES:
        return "clause"
    return "none"


def _may_break(before: str, after: str) -> bool:
    """False between a preposition/conjunction/particle and its word, or before a dash."""
    return before.lower().lstrip(_OPENING) not in CLINGING_WORDS and after not in _DASHES


def _width(words: Sequence[_Token]) -> int:
    """Visible characters of the words joined by single spaces."""
    return sum(word.width for word in words) + max(0, len(words) - 1)


def _layout(words: Sequence[_Token], rules: CueRules) -> tuple[float, list[str]] | None:
    """Best split of words into at most ``rules.max_lines`` lines, None if none is allowed.

    Lines break only where ``_may_break`` allows; a break after punctuation and lines of
    similar length cost least, and a slightly longer bottom line wins a tie.
    """
    prefix = [0]
    for word in words:
        prefix.append(prefix[-1] + word.width)

    def width(first: int, stop: int) -> int:
        return prefix[stop] - prefix[first] + stop - first - 1

    limit = rules.max_chars_per_line
    memo: dict[tuple[int, int], tuple[float, tuple[int, ...]] | None] = {}

    def best_cuts(first: int, lines_left: int) -> tuple[float, tuple[int, ...]] | None:
        if width(first, len(words)) <= limit:
            return 0.0, ()
        if lines_left == 1:
            return None
        key = (first, lines_left)
        if key in memo:
            return memo[key]
        best: tuple[float, tuple[int, ...]] | None = None
        for cut in range(first + 1, len(words)):
            head = width(first, cut)
            if head > limit:
                break
            if not _may_break(words[cut - 1].text, words[cut].text):
                continue
            rest = best_cuts(cut, lines_left - 1)
            if rest is None:
                continue
            next_line = width(cut, rest[1][0] if rest[1] else len(words))
            cost = rest[0] + _CUT_COST[words[cut - 1].ending]
            cost += 0.02 * abs(head - next_line) + 0.01 * (head > next_line)
            if best is None or cost < best[0]:
                best = (cost, (cut, *rest[1]))
        memo[key] = best
        return best

    found = best_cuts(0, rules.max_lines)
    if found is None:
        return None
    bounds = [0, *found[1], len(words)]
    lines = [" ".join(w.text for w in words[a:b]) for a, b in pairwise(bounds)]
    return found[0], lines


def _dash_lines(first: Sequence[str], second: Sequence[str], rules: CueRules) -> list[str] | None:
    if rules.max_lines < 2:
        return None
    lines = [DASH + " ".join(first), DASH + " ".join(second)]
    fits = all(visible_length(line) <= rules.max_chars_per_line for line in lines)
    return lines if fits else None
