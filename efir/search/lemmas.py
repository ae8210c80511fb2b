"""Russian tokens and their lemmas, as both the indexer and the query parser see them.

Every token position of a segment is indexed as one *term*: the sorted set of all
candidate lemmas of that word form joined by "_" ("стали" → "сталь_стать"). One term
per position keeps phrase adjacency exact on both backends; a query word matches a
position when its own lemmas intersect the position's candidates, which the query
side resolves through the term vocabulary (see ``efir.search.schema``).

ё and е are one letter everywhere. Hyphenated words ("Абылай-хан") are one position
whose candidates also hold the lemmas of the parts, so «Абылай» finds «Абылай-хана».
Adjectives derived from place names ("Костанайской") also carry the place itself
("костанай") so a query for the city finds its region; the link is made only when
the derived noun is a geographic name in the dictionary, so «советский» never
becomes «совет».
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from itertools import pairwise
from typing import NamedTuple

from efir.morphology import analyzer

__all__ = [
    "TERM_JOINER",
    "Token",
    "index_candidates",
    "is_dictionary_word",
    "is_initialism",
    "lemma_forms",
    "normalise",
    "query_lemmas",
    "term_of",
    "tokenize",
    "words",
]

TERM_JOINER = "_"

# Letters and digits with inner hyphens; "_" is excluded because it joins lemmas in a term.
_WORD_RE = re.compile(r"[^\W_]+(?:-[^\W_]+)*")

# (adjective suffix, noun ending) pairs that turn a place adjective back into the place:
# костанайский→костанай, карагандинский→караганда, алматинский→алматы,
# российский→россия, московский→москва, уральский→урал, петропавловский→петропавловск.
_PLACE_ADJECTIVE_ENDINGS = (
    ("ский", ""),
    ("ский", "ск"),
    ("инский", "а"),
    ("инский", "ы"),
    ("ийский", "ия"),
    ("овский", "ва"),
    ("ьский", ""),
    ("цкий", "к"),
)


class Token(NamedTuple):
    """One word of the original text with its character span (for highlighting and
    word probabilities; a tuple: indexing makes one per word, a third the cost of a
    frozen dataclass)."""

    text: str
    start: int
    end: int


def normalise(word: str) -> str:
    return word.lower().replace("ё", "е")


def words(text: str) -> list[str]:
    """The words of a text without their spans: all the indexer needs, and much cheaper."""
    return _WORD_RE.findall(text)


def tokenize(text: str) -> Iterator[Token]:
    for match in _WORD_RE.finditer(text):
        yield Token(match.group(), match.start(), match.end())


@lru_cache(maxsize=262_144)
def _dictionary_lemmas(word: str) -> frozenset[str]:
    """All normal forms pymorphy3 offers for a lower-case word (ё kept for the analyser)."""
    if word.isdigit():
        return frozenset({word})
    return frozenset(normalise(p.normal_form) for p in analyzer().parse(word))


@lru_cache(maxsize=65_536)
def _place_of_adjective(lemma: str) -> frozenset[str]:
    """Places the adjective is named after; dictionary places win over guessed ones.

    Unknown places (Костанай is not in the dictionary) fall back to the first
    ending that pymorphy3 guesses to be a place, so «костанайский» maps to
    «костанай» and not also to a made-up «костанайск».
    """
    known, guessed = set(), []
    for suffix, ending in _PLACE_ADJECTIVE_ENDINGS:
        if not lemma.endswith(suffix) or len(lemma) <= len(suffix) + 2:
            continue
        noun = lemma[: -len(suffix)] + ending
        for parse in analyzer().parse(noun):
            if "Geox" in parse.tag and normalise(parse.normal_form) == noun:
                if parse.is_known:
                    known.add(noun)
                else:
                    guessed.append(noun)
                break
    return frozenset(known or guessed[:1])


@lru_cache(maxsize=262_144)
def query_lemmas(word: str) -> frozenset[str]:
    """The lemmas a query word stands for: every dictionary reading of the form."""
    return _dictionary_lemmas(word.lower())


@lru_cache(maxsize=262_144)
def index_candidates(word: str) -> frozenset[str]:
    """Everything a text position may be found by: its lemmas, its parts', its place."""
    lowered = word.lower()
    lemmas = set(_dictionary_lemmas(lowered))
    if "-" in lowered:
        for part in lowered.split("-"):
            lemmas |= _dictionary_lemmas(part)
    for lemma in list(lemmas):
        lemmas |= _place_of_adjective(lemma)
    return frozenset(lemmas)


@lru_cache(maxsize=262_144)
def term_of(word: str) -> str:
    """The single index term for a text position."""
    return TERM_JOINER.join(sorted(index_candidates(word)))


# Parts of speech whose words never expand to sound-alikes: they are short, in
# every segment, and nobody searches the archive for them.
_FUNCTION_WORDS = frozenset({"PREP", "CONJ", "PRCL", "INTJ", "NPRO", "PRED"})
# Participles and gerunds are lexemes of their own for a search: a verb query
# expanding to all of them would compare hundreds of forms.
_OTHER_LEXEMES = frozenset({"PRTF", "PRTS", "GRND"})


@lru_cache(maxsize=65_536)
def lemma_forms(lemma: str) -> frozenset[str]:
    """Every inflected form of a lemma (ё → е), none for function words."""
    forms = {lemma}
    for parse in analyzer().parse(lemma):
        if normalise(parse.normal_form) != lemma:
            continue
        if parse.tag.POS in _FUNCTION_WORDS:
            return frozenset()
        forms |= {
            normalise(form.word)
            for form in parse.lexeme
            if form.tag.POS not in _OTHER_LEXEMES or parse.tag.POS in _OTHER_LEXEMES
        }
    return frozenset(forms)


@lru_cache(maxsize=262_144)
def is_dictionary_word(word: str) -> bool:
    """Whether the form is in pymorphy3's dictionary (a misheard non-word is not)."""
    return bool(analyzer().word_is_known(word.lower()))


_CONSONANTS = set("бвгджзйклмнпрстфхцчшщ")


@lru_cache(maxsize=65_536)
def is_initialism(lemma: str) -> bool:
    """An abbreviation said letter by letter («нпо», «мвд»): one the dictionary marks
    as such, with two consonants in a row (a word like «вуз» or «оон» is read as one)."""
    return any(a in _CONSONANTS and b in _CONSONANTS for a, b in pairwise(lemma)) and any(
        {"Abbr", "Fixd"} <= parse.tag.grammemes and normalise(parse.normal_form) == lemma
        for parse in analyzer().parse(lemma)
    )
