"""Russian morphology: one pymorphy3 analyser for the whole process (its dictionaries take
~15 MB and a second to load), and putting a word into the grammatical form of another."""

from __future__ import annotations

import unicodedata
from functools import cache, lru_cache

import pymorphy3

__all__ = [
    "PROPER_GRAMMEMES",
    "analyzer",
    "inflect_like",
    "is_known",
    "known_prefix_length",
    "parses",
    "with_case_of",
]

# The grammemes a replacement takes over from the word it replaces.
_AGREEMENT = ("case", "number", "gender")
# Grammemes of a proper noun: first names, surnames, patronymics, places, organisations,
# trademarks.
PROPER_GRAMMEMES = frozenset({"Name", "Surn", "Patr", "Geox", "Orgn", "Trad"})
# Cases each preposition governs, most likely first in news speech ("в Костанае").
PREPOSITION_CASES: dict[str, tuple[str, ...]] = {
    "в": ("loct", "accs"),
    "во": ("loct", "accs"),
    "на": ("loct", "accs"),
    "о": ("loct",),
    "об": ("loct",),
    "при": ("loct",),
    "к": ("datv",),
    "ко": ("datv",),
    "по": ("datv", "loct"),
    "с": ("ablt", "gent"),
    "со": ("ablt", "gent"),
    "за": ("ablt", "accs"),
    "над": ("ablt",),
    "под": ("ablt", "accs"),
    "перед": ("ablt",),
    "между": ("ablt",),
    "из": ("gent",),
    "от": ("gent",),
    "до": ("gent",),
    "у": ("gent",),
    "без": ("gent",),
    "для": ("gent",),
    "около": ("gent",),
    "после": ("gent",),
    "про": ("accs",),
    "через": ("accs",),
}
# pymorphy3's second genitive, locative and accusative («чаю», «на току») are the case.
_CASE_OF = {"gen1": "gent", "gen2": "gent", "loc1": "loct", "loc2": "loct", "acc2": "accs"}


class _Analyzer(pymorphy3.MorphAnalyzer):  # type: ignore[misc]
    """pymorphy3's analyser for any text. Its shape check asks unicodedata for every
    letter's name and raises ValueError for a letter that has none (a search for «𗫙»
    was a server error): such letters are read as U+FFFD, which is no letter."""

    def parse(self, word: str) -> list[pymorphy3.analyzer.Parse]:
        try:
            return list(super().parse(word))
        except ValueError:
            named = "".join(c if unicodedata.name(c, "") else "\ufffd" for c in word)
            return list(super().parse(named))


@cache
def analyzer() -> pymorphy3.MorphAnalyzer:
    return _Analyzer(lang="ru")


def inflect_like(replacement: str, model: str) -> str:
    """``replacement`` in the case and number ``model`` is in, cased like ``model``:
    inflect_like("Спанов", "Спаровым") == "Спановым". Unchanged when no form fits."""
    if " " in replacement or "-" in replacement:
        return with_case_of(model, replacement)
    heard = analyzer().parse(model.lower())[0]
    wanted = {value for name in _AGREEMENT if (value := getattr(heard.tag, name, None)) is not None}
    for parse in parses(replacement)[:3]:
        for grammemes in (wanted, wanted - {"gender"}):
            inflected = parse.inflect(grammemes) if grammemes else None
            if inflected is not None:
                return with_case_of(model, with_case_of(replacement, inflected.word))
    return with_case_of(model, replacement)


def parses(word: str) -> list[pymorphy3.analyzer.Parse]:
    """pymorphy3's readings; a capitalised word is read as a name first («Спаров» as a
    surname, not the genitive plural of «спар»)."""
    readings = analyzer().parse(word.lower())
    if word[:1].isupper():
        readings = sorted(
            readings, key=lambda parse: not PROPER_GRAMMEMES & set(parse.tag.grammemes)
        )
    return list(readings)


@lru_cache(maxsize=1 << 16)  # the repair asks about thousands of edits of each non-word
def is_known(word: str) -> bool:
    """Whether a lower-case word is in pymorphy3's dictionary (not merely guessed).

    pymorphy3's word_is_known without its Python layers (the repair asks ~2,000 times a
    non-word): a word with no е to read as ё is looked up as it is, in 0.1 µs, not 1.2."""
    morph = analyzer()
    word = word.lower()
    if "е" in word:
        return bool(morph.dictionary.words.similar_keys(word, morph.char_substitutes))
    return word in morph.dictionary.words


# pymorphy3 reads a Russian е as е or ё (its char_substitutes), so is_known does too.
_SPELLINGS = {"е": "её"}


def known_prefix_length(text: str) -> int:
    """How many leading letters of lower-case `text` some dictionary word begins with,
    е read as е or ё as `is_known` reads it: len(text) if `text` is known."""
    words = analyzer().dictionary.words
    starts = [""]
    for length, char in enumerate(text):
        starts = [
            start + spelling
            for start in starts
            for spelling in _SPELLINGS.get(char, char)
            if words.has_keys_with_prefix(start + spelling)
        ]
        if not starts:
            return length
    return len(text)


def can_follow(preposition: str, word: str) -> bool:
    """Whether lower-case `word` has a reading in a case `preposition` governs («с
    приоритетами», not «в рики»); True after a word that is no preposition. «Об» goes
    before a vowel and «о» before a consonant («об этом», «о лице»)."""
    governed = PREPOSITION_CASES.get(preposition)
    if governed is None:
        return True
    if preposition in ("о", "об") and (word[:1] in "аоуэи") != (preposition == "об"):
        return False
    return any(
        _CASE_OF.get(case, case) in governed
        for parse in analyzer().parse(word)
        if (case := parse.tag.case) is not None
    )


def with_case_of(model: str, text: str) -> str:
    """``text`` upper-cased, capitalised or lower-cased as ``model`` is."""
    if model.isupper() and len(model) > 1:
        return text.upper()
    if model[:1].isupper():
        return text[:1].upper() + text[1:]
    return text
