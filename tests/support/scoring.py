"""Word and character error rates for Russian transcripts, as the issue defines them.

Both texts are normalised the same way before scoring: lower case, ё → е,
punctuation (including hyphens and dashes) turned into spaces, whitespace collapsed.
Digits are left alone, so "11-й" against the reference "одиннадцатый" counts as
errors: the fixtures' truth spells numbers out, and so should a newsroom transcript.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from efir.morphology import analyzer

__all__ = ["cer", "load_truth_text", "non_word_rate", "normalise", "wer"]

_NON_WORD = re.compile(r"[^\w]+|_")


def normalise(text: str) -> str:
    text = text.lower().replace("ё", "е")
    return " ".join(_NON_WORD.sub(" ", text).split())


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: word edit distance over the number of reference words."""
    reference_words = normalise(reference).split()
    return _edit_distance(reference_words, normalise(hypothesis).split()) / max(
        len(reference_words), 1
    )


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate over the normalised texts, spaces included."""
    reference_chars = list(normalise(reference))
    return _edit_distance(reference_chars, list(normalise(hypothesis))) / max(
        len(reference_chars), 1
    )


def non_word_rate(hypothesis: str, reference: str, glossary: Iterable[str] = ()) -> float:
    """Share of recognised words pymorphy3 does not know, leaving aside digits, glossary
    words and words the reference itself uses (names the dictionary lacks)."""
    words = normalise(hypothesis).split()
    allowed = set(normalise(reference + " " + " ".join(glossary)).split())
    unknown = [
        w
        for w in words
        if not any(ch.isdigit() for ch in w)
        and w not in allowed
        and not analyzer().word_is_known(w)
    ]
    return len(unknown) / max(len(words), 1)


def load_truth_text(truth_path: Path) -> str:
    """The reference text of a fixtures-kit clip: its turns' text in time order."""
    truth = json.loads(Path(truth_path).read_text(encoding="utf-8"))
    return " ".join(turn["text"] for turn in sorted(truth["turns"], key=lambda t: t["start"]))


def _edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    previous = list(range(len(hypothesis) + 1))
    for i, expected in enumerate(reference, start=1):
        current = [i] + [0] * len(hypothesis)
        for j, got in enumerate(hypothesis, start=1):
            current[j] = min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (expected != got),
            )
        previous = current
    return previous[-1]
