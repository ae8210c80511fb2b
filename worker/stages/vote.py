"""Vote between readings of the same speech (ROVER, Fiscus 1997).

Whisper base's wrong words change when the audio is played a little slower or faster;
its right words mostly stay. So the words most readings agree on are more often right:
on the development clips three readings (the plain one, at tempo 0.9 and at 1.1) left
122 of 514 words wrong against one reading's 141 (bench/results/accuracy.txt).

The readings are aligned word by word with the first (difflib on normalised words).
Where every reading holds the same word, there is an anchor; between two anchors each
reading's stretch is a ballot. The stretch most readings hold wins, and among equal
counts the one the recogniser was surest of (its words' mean probability), the first
reading's on a tie. What the other readings heard there becomes the winning words'
`alternatives` (search finds them as sound-alikes).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import replace
from itertools import pairwise

from efir.transcripts.model import Word

__all__ = ["vote", "word_key"]

# A reading that holds no word in a stretch the others fill is this sure of its silence.
EMPTY_STRETCH_CONFIDENCE = 0.75
_NON_WORD = re.compile(r"[^\w]+")


def vote(readings: Sequence[Sequence[Word]], max_alternative_words: int) -> list[Word]:
    """The words of the first reading, with every stretch where most readings (or the
    surest, when no two agree) heard otherwise replaced by theirs. Each reading is in
    time order on the same timeline. A losing stretch of at most `max_alternative_words`
    words becomes an alternative of the words that won over it."""
    keys = [[word_key(word.word) for word in reading] for reading in readings]
    positions = [_anchors(keys[0], other_keys) for other_keys in keys[1:]]
    common = sorted(set(range(len(keys[0]) + 1)).intersection(*positions))
    # Each reading's word boundary at every common anchor (the first's are the anchors).
    bounds = [{anchor: anchor for anchor in common}, *positions]
    words: list[Word] = []
    for start, end in pairwise(common):
        stretches = [
            reading[at[start] : at[end]] for reading, at in zip(readings, bounds, strict=True)
        ]
        texts = [" ".join(key[at[start] : at[end]]) for key, at in zip(keys, bounds, strict=True)]
        words += _ballot(stretches, texts, max_alternative_words)
    return words


def word_key(text: str) -> str:
    """Text as words are compared (readings, hypotheses, phantom phrases): lower case,
    ё as е, punctuation as spaces."""
    return " ".join(_NON_WORD.sub(" ", text.lower().replace("ё", "е")).split())


def _anchors(keys: Sequence[str], other: Sequence[str]) -> dict[int, int]:
    """The first reading's word boundaries where the alignment with `other` passes
    through words both hold, with `other`'s boundary there; both ends always."""
    matcher = difflib.SequenceMatcher(a=keys, b=other, autojunk=False)
    anchors = {0: 0, len(keys): len(other)}
    for block in matcher.get_matching_blocks():
        anchors.update({block.a + k: block.b + k for k in range(block.size + 1)})
    return anchors


def _ballot(
    stretches: Sequence[Sequence[Word]], texts: Sequence[str], max_alternative_words: int
) -> list[Word]:
    """The winning stretch; `texts` are the stretches' words as compared (word_key)."""
    if len(set(texts)) == 1:
        return list(stretches[0])

    def standing(index: int) -> tuple[int, float, int]:
        stretch = stretches[index]
        confidence = (
            sum(word.probability for word in stretch) / len(stretch)
            if stretch
            else EMPTY_STRETCH_CONFIDENCE
        )
        return texts.count(texts[index]), confidence, -index

    winner = max(range(len(stretches)), key=standing)
    heard = tuple(
        dict.fromkeys(
            text
            for text, stretch in zip(texts, stretches, strict=True)
            if text and text != texts[winner] and len(stretch) <= max_alternative_words
        )
    )
    won = stretches[winner]
    if not heard or len(won) > max_alternative_words:
        return list(won)
    return [
        replace(word, alternatives=tuple(dict.fromkeys((*word.alternatives, *heard))))
        for word in won
    ]
