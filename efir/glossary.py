"""A newsroom glossary: names, places and organisations the story needs spelled right.

It does two jobs. Before decoding it becomes the prompt Whisper reads before each
window, which biases spelling. After decoding it corrects near-misses that remain
("в Костоне" → "в Костанае"), choosing the inflected form of the term that fits
the recognised word (pymorphy3 lexemes, the case a preceding preposition governs).

Corrections are conservative. A recognised word is rewritten only when it is
within 30% edits of a glossary form and starts with the same letter. An ordinary
dictionary word is rewritten only where its neighbour completes a multi-word term
("гражданского арума" → "гражданского форума"), so "форма" alone never becomes
"форум". Words under four letters, glossary forms and their inflections
("Спанова" for "Спанов") are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from efir.morphology import (
    PREPOSITION_CASES,
    PROPER_GRAMMEMES,
    analyzer,
    is_known,
    parses,
    with_case_of,
)

__all__ = ["MAX_GLOSSARY_TERMS", "Glossary", "correct_words", "is_ordinary_word"]

# The most terms a glossary may hold (an upload's, a programme's).
MAX_GLOSSARY_TERMS = 5000

_MIN_LETTERS = 4
_MAX_EDIT_SHARE = 0.3
# Beside the rest of its phrase ("гражданского арума") a word may be further off.
_PHRASE_EDIT_SHARE = 0.4
_MAX_EDITS = 3
_PUNCTUATION = " .,!?:;…«»\"'()—-"
_WORD_CORE = re.compile(r"^(\W*)([\w-]+?)(\W*)$")


@dataclass(frozen=True)
class _Form:
    text: str  # as the glossary writes it (case included)
    cases: frozenset[str]  # grammatical cases this spelling can stand for


@dataclass(frozen=True)
class Glossary:
    terms: tuple[str, ...] = ()

    @classmethod
    def from_text(cls, text: str) -> Glossary:
        """One term a line; blank lines and lines starting with # are skipped."""
        lines = (line.strip() for line in text.removeprefix("\ufeff").splitlines())
        unique = dict.fromkeys(line for line in lines if line and not line.startswith("#"))
        return cls(terms=tuple(unique))

    @classmethod
    def load(cls, path: Path) -> Glossary:
        return cls.from_text(Path(path).read_text(encoding="utf-8-sig"))

    def __bool__(self) -> bool:
        return bool(self.terms)

    @property
    def prompt(self) -> str | None:
        """The decoder prompt: the terms as a comma-separated sentence."""
        return ", ".join(self.terms) + "." if self.terms else None

    @property
    def protected_words(self) -> frozenset[str]:
        """Lower-case stems of the terms' words, which the non-word repair leaves alone
        in any inflection ("Костанае", "Спанова")."""
        # Quotes belong to the term, not its words: «Ак stays protected as «ак».
        words = (_key(word).strip(_PUNCTUATION) for term in self.terms for word in term.split())
        return frozenset(w[:-2] if len(w) > 5 else w for w in words if len(w) >= 3)

    @property
    def hotwords(self) -> str | None:
        return ", ".join(self.terms) if self.terms else None


def correct_words(words: Sequence[str], glossary: Glossary) -> list[str]:
    """Recognised words (with their spaces and punctuation) corrected against the glossary."""
    return _corrected_words(words, _vocabulary(glossary.terms))


def _corrected_words(words: Sequence[str], vocabulary: tuple[_TermWord, ...]) -> list[str]:
    return [_corrected(word, vocabulary, _Context.around(words, i)) for i, word in enumerate(words)]


@dataclass(frozen=True)
class _TermWord:
    forms: tuple[_Form, ...]
    # Forms of the words beside it in a multi-word term ("Гражданский" | "форум").
    left: frozenset[str]
    right: frozenset[str]


@dataclass(frozen=True)
class _Context:
    previous: str
    following: str

    @classmethod
    def around(cls, words: Sequence[str], index: int) -> _Context:
        def bare(i: int) -> str:
            return _key(words[i]).strip(_PUNCTUATION) if 0 <= i < len(words) else ""

        return cls(previous=bare(index - 1), following=bare(index + 1))

    def completes(self, term_word: _TermWord) -> bool:
        return self.previous in term_word.left or self.following in term_word.right


def _corrected(word: str, vocabulary: tuple[_TermWord, ...], context: _Context) -> str:
    match = _WORD_CORE.match(word)
    if match is None:
        return word
    before, core, after = match.groups()
    best = _best_form(core, vocabulary, context)
    if best is None:
        return word
    if core.isupper() and len(core) > 1:
        return before + best.text.upper() + after
    if best.text.islower():
        return before + with_case_of(core, best.text) + after
    return before + best.text + after


def _best_form(core: str, vocabulary: tuple[_TermWord, ...], context: _Context) -> _Form | None:
    """The glossary form to write instead of `core`, or None to leave it.

    The closest form decides which glossary word was meant; among that word's forms
    the case a preceding preposition governs is worth one edit ("в Костанной" →
    "в Костанае", not "в Костанай").
    """
    recognised = _key(core)
    if len(recognised) < _MIN_LETTERS and not core.isupper():
        return None
    ordinary = is_ordinary_word(core)
    best: tuple[int, int, _Form] | None = None
    for term_word in vocabulary:
        if recognised.startswith(_key(term_word.forms[0].text)):
            return None  # the glossary word itself, or an inflection of it ("Спанова")
        in_phrase = context.completes(term_word)
        if ordinary and not in_phrase:
            continue  # a dictionary word is only rewritten to complete a glossary phrase
        distances = {form: _distance(recognised, core, form, in_phrase) for form in term_word.forms}
        if 0 in distances.values():
            return None  # already a form of the glossary word ("гражданских")
        near_misses = [
            edits
            for form, edits in distances.items()
            if edits is not None and edits <= _allowed_edits(form, in_phrase)
        ]
        if not near_misses:
            continue
        for form, edits in distances.items():
            if edits is not None and edits <= min(near_misses) + 1:
                rank = _case_rank(form, context)
                candidate = (edits + min(rank, 1), rank, form)
                if best is None or candidate[:2] < best[:2]:
                    best = candidate
    return best[2] if best else None


def _distance(recognised: str, core: str, form: _Form, in_phrase: bool) -> int | None:
    """Edits from the recognised word to `form`; None if it cannot be a near-miss of it."""
    target = _key(form.text)
    if form.text.isupper() and not core.isupper():
        return None  # an acronym only matches letters spoken as one: "МПО", "ГНПО" → "НПО"
    if not form.text.isupper() and not in_phrase and target[0] != recognised[0]:
        return None
    if abs(len(target) - len(recognised)) > _allowed_edits(form, in_phrase) + 1:
        return None
    return int(Levenshtein.distance(recognised, target))


def _allowed_edits(form: _Form, in_phrase: bool) -> int:
    if form.text.isupper():
        return 1
    share = _PHRASE_EDIT_SHARE if in_phrase else _MAX_EDIT_SHARE
    return min(_MAX_EDITS, max(1, int(share * len(form.text))))


def _case_rank(form: _Form, context: _Context) -> int:
    governed = PREPOSITION_CASES.get(context.previous, ())
    return min(
        (governed.index(case) for case in form.cases if case in governed),
        default=len(governed),
    )


@cache
def is_ordinary_word(core: str) -> bool:
    key = _key(core)
    if not is_known(key):
        return False
    best = analyzer().parse(key)[0]
    return not (PROPER_GRAMMEMES & set(best.tag.grammemes))


@cache
def _vocabulary(terms: tuple[str, ...]) -> tuple[_TermWord, ...]:
    """Every inflected form of every glossary word long enough to correct towards."""
    vocabulary: list[_TermWord] = []
    for term in terms:
        # Quotes belong to the term as a whole ("«Центральный район»"): a form carrying
        # one would paste it onto an ordinary phrase ("в кафе «центральный»").
        words = [w.strip(_PUNCTUATION) for w in term.split() if w.strip(_PUNCTUATION)]
        forms = [_forms(word) for word in words]
        for i, word in enumerate(words):
            if not _long_enough(word):
                continue
            left = forms[i - 1] if i > 0 else ()
            right = forms[i + 1] if i + 1 < len(words) else ()
            vocabulary.append(
                _TermWord(
                    forms=forms[i],
                    left=frozenset(_key(f.text) for f in left),
                    right=frozenset(_key(f.text) for f in right),
                )
            )
    return tuple(vocabulary)


def _long_enough(word: str) -> bool:
    return len(word) >= _MIN_LETTERS or (word.isupper() and len(word) >= 3)


def _forms(word: str) -> tuple[_Form, ...]:
    if word.isupper() or "-" in word:
        return (_Form(word, frozenset()),)
    # A capitalised term is a name: inflected as one ("Какенов").
    cases: dict[str, set[str]] = {_key(word): set()}
    for inflected in parses(word)[0].lexeme:
        cases.setdefault(_key(inflected.word), set()).add(str(inflected.tag.case))
    return tuple(
        _Form(with_case_of(word, spelling), frozenset(spelling_cases))
        for spelling, spelling_cases in cases.items()
    )


def _key(text: str) -> str:
    return text.lower().replace("ё", "е")
