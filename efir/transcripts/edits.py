"""Editor corrections: small operations on a transcript (the API parses them from JSON).

Each op is a frozen dataclass; ``apply_edits`` applies them in order and returns a new
transcript (the input is never changed). Segment ids refer to the transcript as the
previous op left it: ``split`` and ``merge`` renumber segments 0..n-1 in time order.

When an editor retypes a segment, its words are re-aligned to the old word timestamps by
a token-level edit-distance alignment rather than spread evenly: unchanged words keep
their exact times, replaced words take the span of the words they replace, inserted words
share the neighbouring span (or the silence they fall into).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from efir.errors import InvalidEditError
from efir.morphology import inflect_like
from efir.search.lemmas import query_lemmas
from efir.transcripts.model import Segment, Speaker, Transcript, Word

__all__ = [
    "ConfirmSpeaker",
    "EditOp",
    "MergeSegments",
    "RenameSpeaker",
    "ReplaceWord",
    "SetBounds",
    "SetSpeaker",
    "SetText",
    "SplitSegment",
    "align_words",
    "apply_edits",
    "share_span",
]

# A word as search sees one: letters and digits with inner hyphens.
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
# Shortest time an inserted word may be given out of a silence before it shares a
# neighbour's span instead.
_MIN_INSERTED_WORD_S = 0.08
# Character similarity (difflib ratio) above which a retyped word is the same word respelled.
_SIMILAR_WORD = 0.6


@dataclass(frozen=True)
class SetText:
    segment_id: int
    text: str


@dataclass(frozen=True)
class SetSpeaker:
    segment_id: int
    speaker_id: str


@dataclass(frozen=True)
class ConfirmSpeaker:
    """The editor checked who speaks a segment and agrees: its `check` flag goes."""

    segment_id: int


@dataclass(frozen=True)
class RenameSpeaker:
    speaker_id: str
    changes: tuple[tuple[str, Any], ...]  # (field, value) for name/title/role given


@dataclass(frozen=True)
class SplitSegment:
    segment_id: int
    at_word: int  # index of the first word of the second part


@dataclass(frozen=True)
class MergeSegments:
    segment_ids: tuple[int, ...]
    # Who the merged text belongs to; required when the parts have different speakers,
    # so text never moves to another speaker without the editor saying so.
    speaker_id: str | None = None


@dataclass(frozen=True)
class ReplaceWord:
    """Every form of ``find`'s word, in every segment, becomes ``replace`` in that form
    («Спарова», «Спарову» → «Спанова», «Спанову»); word times stay."""

    find: str
    replace: str


@dataclass(frozen=True)
class SetBounds:
    """Retime a segment (a boundary dragged on the waveform, or nudged by a frame): its
    words keep their places relative to the segment, stretched to the new span. It may
    not overlap the segments before and after it."""

    segment_id: int
    start: float
    end: float


EditOp = (
    SetText
    | SetSpeaker
    | ConfirmSpeaker
    | RenameSpeaker
    | SplitSegment
    | MergeSegments
    | ReplaceWord
    | SetBounds
)


# --- applying --------------------------------------------------------------------------


def apply_edits(transcript: Transcript, ops: Iterable[EditOp]) -> Transcript:
    """A new transcript with ``ops`` applied in order; InvalidEditError if an op does not fit."""
    for op in ops:
        transcript = _apply(transcript, op)
    return transcript


def _apply(transcript: Transcript, op: EditOp) -> Transcript:
    if isinstance(op, SetText):
        segment = _segment(transcript, op.segment_id)
        text = " ".join(op.text.split())
        edited = replace(segment, text=text, words=align_words(segment.words, text))
        return _with_segment(transcript, edited)
    if isinstance(op, SetSpeaker):
        segment = _segment(transcript, op.segment_id)
        speakers = transcript.speakers
        if transcript.speaker(op.speaker_id) is None:
            speakers = (*speakers, Speaker(id=op.speaker_id))  # an editor's new speaker
        return replace(
            _with_segment(transcript, replace(segment, speaker=op.speaker_id).confirmed()),
            speakers=speakers,
        )
    if isinstance(op, ConfirmSpeaker):
        return _with_segment(transcript, _segment(transcript, op.segment_id).confirmed())
    if isinstance(op, RenameSpeaker):
        speaker = transcript.speaker(op.speaker_id)
        if speaker is None:
            raise InvalidEditError(f"no speaker {op.speaker_id!r} in this transcript")
        renamed = replace(speaker, **dict(op.changes))
        speakers = tuple(renamed if s.id == op.speaker_id else s for s in transcript.speakers)
        # Naming a speaker is the editor's word on who speaks all of its segments.
        segments = tuple(
            s.confirmed() if s.speaker == op.speaker_id else s for s in transcript.segments
        )
        return replace(transcript, speakers=speakers, segments=segments)
    if isinstance(op, SplitSegment):
        return _split(transcript, op)
    if isinstance(op, ReplaceWord):
        return _replace_word(transcript, op)
    if isinstance(op, SetBounds):
        return _set_bounds(transcript, op)
    return _merge(transcript, op)


# Shortest a retimed segment may be: one frame at 25 fps.
MIN_SEGMENT_S = 0.04
# Neighbours may touch; float noise from the browser below a millisecond is not overlap.
_OVERLAP_TOLERANCE_S = 0.0005


def _set_bounds(transcript: Transcript, op: SetBounds) -> Transcript:
    segment = _segment(transcript, op.segment_id)
    start, end = round(op.start, 3), round(op.end, 3)
    if start < 0 or end - start < MIN_SEGMENT_S - _OVERLAP_TOLERANCE_S:
        raise InvalidEditError(
            f"Сегмент {segment.id}: начало {start} с и конец {end} с не годятся "
            f"(не меньше {MIN_SEGMENT_S} с). "
            f"Segment {segment.id}: start {start} s and end {end} s do not make a span "
            f"(at least {MIN_SEGMENT_S} s)."
        )
    if transcript.duration and end > transcript.duration + _OVERLAP_TOLERANCE_S:
        raise InvalidEditError(
            f"Сегмент {segment.id} не может кончаться после конца записи "
            f"({transcript.duration} с). "
            f"Segment {segment.id} cannot end after the recording ({transcript.duration} s)."
        )
    ordered = sorted(transcript.segments, key=lambda s: (s.start, s.end))
    position = _position(ordered, segment.id)
    before = ordered[position - 1] if position > 0 else None
    after = ordered[position + 1] if position + 1 < len(ordered) else None
    if (before and start < before.end - _OVERLAP_TOLERANCE_S) or (
        after and end > after.start + _OVERLAP_TOLERANCE_S
    ):
        raise InvalidEditError(
            f"Сегмент {segment.id} наложился бы на соседний: {start}–{end} с. "
            f"Segment {segment.id} would overlap a neighbour: {start}-{end} s."
        )
    return _with_segment(
        transcript,
        replace(segment, start=start, end=end, words=_stretched(segment, start, end)),
    )


def _stretched(segment: Segment, start: float, end: float) -> tuple[Word, ...]:
    """The segment's words moved to [start, end], each keeping its relative place."""
    old = segment.end - segment.start
    if old <= 0:
        timed = share_span((start, end), [w.word for w in segment.words])
        return tuple(
            replace(
                new,
                probability=w.probability,
                repaired_from=w.repaired_from,
                alternatives=w.alternatives,
            )
            for new, w in zip(timed, segment.words, strict=True)
        )
    scale = (end - start) / old

    def moved(t: float) -> float:
        return round(min(end, max(start, start + (t - segment.start) * scale)), 3)

    return tuple(replace(w, start=moved(w.start), end=moved(w.end)) for w in segment.words)


def _replace_word(transcript: Transcript, op: ReplaceWord) -> Transcript:
    typed = op.find.strip().lower()
    if not _WORD.fullmatch(typed):
        raise InvalidEditError(f"Не слово: «{op.find}». Not a word: «{op.find}».")
    # A misheard name is rarely in the dictionary: the typed form counts as a lemma too.
    wanted = query_lemmas(typed) | {typed}

    def swap(match: re.Match[str]) -> str:
        word = match.group()
        return inflect_like(op.replace, word) if query_lemmas(word.lower()) & wanted else word

    def in_text(text: str) -> str:
        return _WORD.sub(swap, text)

    segments = tuple(
        replace(
            segment,
            text=in_text(segment.text),
            # A word the editor put in is certain, as SetText's (align_words) are: a
            # search no longer takes it for a doubted one, nor for what the recogniser's
            # other hypotheses heard (efir.search.heard).
            words=tuple(
                replace(word, word=fixed, probability=1.0, alternatives=())
                if (fixed := in_text(word.word)) != word.word
                else word
                for word in segment.words
            ),
        )
        for segment in transcript.segments
    )
    return replace(transcript, segments=segments)


def _segment(transcript: Transcript, segment_id: int) -> Segment:
    for segment in transcript.segments:
        if segment.id == segment_id:
            return segment
    raise InvalidEditError(f"no segment {segment_id} in this transcript")


def _with_segment(transcript: Transcript, edited: Segment) -> Transcript:
    segments = tuple(edited if s.id == edited.id else s for s in transcript.segments)
    return replace(transcript, segments=segments)


def _split(transcript: Transcript, op: SplitSegment) -> Transcript:
    segment = _segment(transcript, op.segment_id)
    words = align_words(segment.words, segment.text)
    if not 1 <= op.at_word < len(words):
        raise InvalidEditError(
            f"at_word must be between 1 and {len(words) - 1} for segment {segment.id}, "
            f"got {op.at_word}"
        )
    head, tail = words[: op.at_word], words[op.at_word :]
    first = replace(segment, end=head[-1].end, text=" ".join(w.word for w in head), words=head)
    second = replace(
        segment,
        id=-1,
        start=tail[0].start,
        text=" ".join(w.word for w in tail),
        words=tail,
    )
    others = tuple(s for s in transcript.segments if s.id != segment.id)
    return replace(transcript, segments=(*others, first, second)).renumbered()


def _merge(transcript: Transcript, op: MergeSegments) -> Transcript:
    ordered = sorted(transcript.segments, key=lambda s: (s.start, s.end))
    positions = [_position(ordered, segment_id) for segment_id in op.segment_ids]
    positions.sort()
    if positions != list(range(positions[0], positions[0] + len(positions))):
        raise InvalidEditError(f"segments {list(op.segment_ids)} are not consecutive")
    parts = [ordered[p] for p in positions]
    speakers = list(dict.fromkeys(s.speaker for s in parts))
    keeper = op.speaker_id or speakers[0]
    if op.speaker_id is None and len(speakers) > 1:
        names = ", ".join(map(str, speakers))
        raise InvalidEditError(
            f"Сегменты {list(op.segment_ids)} принадлежат разным спикерам ({names}): "
            "укажите, чей это текст. "
            f"Segments {list(op.segment_ids)} belong to different speakers ({names}); "
            "say whose the merged text is (speaker_id)."
        )
    if keeper not in speakers:
        raise InvalidEditError(
            f"Спикер {keeper!r} не говорит в этих сегментах. "
            f"Speaker {keeper!r} speaks in none of these segments."
        )
    merged = replace(
        parts[0],
        speaker=keeper,
        start=min(s.start for s in parts),
        end=max(s.end for s in parts),
        text=" ".join(s.text for s in parts if s.text),
        words=tuple(w for s in parts for w in s.words),
    )
    kept = [s for i, s in enumerate(ordered) if i not in positions[1:]]
    kept[positions[0]] = merged
    return replace(transcript, segments=tuple(kept)).renumbered()


def _position(ordered: Sequence[Segment], segment_id: int) -> int:
    for position, segment in enumerate(ordered):
        if segment.id == segment_id:
            return position
    raise InvalidEditError(f"no segment {segment_id} in this transcript")


# --- word re-alignment -----------------------------------------------------------------


def align_words(old_words: Sequence[Word], text: str) -> tuple[Word, ...]:
    """One timed word per whitespace token of ``text``, timed from ``old_words``.

    Tokens are matched with difflib (an edit-distance alignment) on a folded form that
    ignores case, punctuation and ё/е. Equal tokens keep their word's exact times,
    probability and alternatives (a changed word is the editor's: it has none). Inside
    a replaced run, a respelled word keeps its word's times (matched by character
    similarity); other new words take the span of the old words they replace (one to
    one when the counts match, else shared by character length); inserted tokens take
    the silence they fall into if it is long enough, else share the preceding (or
    following) word's span. Returns () when there are no old words.
    """
    tokens = text.split()
    if not old_words or not tokens:
        return ()
    old_keys = [_fold(w.word) for w in old_words]
    new_keys = [_fold(t) for t in tokens]
    timed: list[Word | None] = [None] * len(tokens)
    matcher = difflib.SequenceMatcher(a=old_keys, b=new_keys, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for offset in range(i2 - i1):
                old = old_words[i1 + offset]
                timed[j1 + offset] = Word(
                    old.start,
                    old.end,
                    tokens[j1 + offset],
                    old.probability,
                    alternatives=old.alternatives,
                )
        elif tag == "replace":
            timed[j1:j2] = _align_replaced(
                old_words[i1:i2], old_keys[i1:i2], tokens[j1:j2], new_keys[j1:j2]
            )
    return _time_insertions(timed, tokens)


def _align_replaced(
    old_words: Sequence[Word],
    old_keys: Sequence[str],
    tokens: Sequence[str],
    new_keys: Sequence[str],
) -> list[Word | None]:
    """Time a replaced run: respelled words ("Костанай" → "Костанае") keep their own
    word's times, found by a character-similarity alignment; the words between them take
    the span of the old words between them (one to one when the counts match); words with
    no old words opposite are insertions, left None for ``_time_insertions``."""
    pairs = _similar_pairs(old_keys, new_keys)
    timed: list[Word | None] = [None] * len(tokens)
    for i, j in pairs:
        timed[j] = Word(old_words[i].start, old_words[i].end, tokens[j])
    bounds = [(-1, -1), *pairs, (len(old_words), len(tokens))]
    for (i0, j0), (i1, j1) in pairwise(bounds):
        replaced, new = old_words[i0 + 1 : i1], range(j0 + 1, j1)
        if not replaced or not new:
            continue
        if len(replaced) == len(new):
            for old, j in zip(replaced, new, strict=True):
                timed[j] = Word(old.start, old.end, tokens[j])
        else:
            span = (replaced[0].start, max(w.end for w in replaced))
            timed[j0 + 1 : j1] = share_span(span, tokens[j0 + 1 : j1])
    return timed


def _similar_pairs(old_keys: Sequence[str], new_keys: Sequence[str]) -> list[tuple[int, int]]:
    """(old, new) index pairs, in order, maximising total character similarity ≥ 0.6."""
    rows, cols = len(old_keys), len(new_keys)
    score = [[0.0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows):
        for j in range(cols):
            similarity = difflib.SequenceMatcher(a=old_keys[i], b=new_keys[j]).ratio()
            matched = score[i][j] + similarity if similarity >= _SIMILAR_WORD else -1.0
            score[i + 1][j + 1] = max(score[i][j + 1], score[i + 1][j], matched)
    pairs = []
    i, j = rows, cols
    while i and j:
        if score[i][j] == score[i - 1][j]:
            i -= 1
        elif score[i][j] == score[i][j - 1]:
            j -= 1
        else:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
    return pairs[::-1]


def _time_insertions(timed: list[Word | None], tokens: list[str]) -> tuple[Word, ...]:
    index = 0
    while index < len(timed):
        if timed[index] is not None:
            index += 1
            continue
        stop = index
        while stop < len(timed) and timed[stop] is None:
            stop += 1
        before = timed[index - 1] if index > 0 else None
        after = timed[stop] if stop < len(timed) else None
        gap_start = before.end if before else (after.start if after else 0.0)
        gap_end = after.start if after else gap_start
        if gap_end - gap_start >= _MIN_INSERTED_WORD_S * (stop - index):
            timed[index:stop] = share_span((gap_start, gap_end), tokens[index:stop])
        elif before is not None:
            shared = share_span((before.start, before.end), [before.word, *tokens[index:stop]])
            timed[index - 1 : stop] = [
                replace(shared[0], probability=before.probability),
                *shared[1:],
            ]
        elif after is not None:
            shared = share_span((after.start, after.end), [*tokens[index:stop], after.word])
            timed[index : stop + 1] = [
                *shared[:-1],
                replace(shared[-1], probability=after.probability),
            ]
        index = stop
    return tuple(w for w in timed if w is not None)


def share_span(span: tuple[float, float], tokens: Sequence[str]) -> list[Word]:
    """Cut ``span`` among ``tokens`` in proportion to their length in characters."""
    start, end = span
    weights = [max(1, len(_fold(t))) for t in tokens]
    total = sum(weights)
    words, cursor, done = [], start, 0
    for token, weight in zip(tokens, weights, strict=True):
        done += weight
        stop = start + (end - start) * done / total
        words.append(Word(round(cursor, 3), round(stop, 3), token))
        cursor = stop
    return words


def _fold(token: str) -> str:
    kept = "".join(ch for ch in token.lower() if ch.isalnum())
    return kept.replace("ё", "е")
