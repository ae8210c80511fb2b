"""Russian morphology: one pymorphy3 analyser for the whole process (its dictionaries take
~15 MB and a second to load), and putting a word into the grammatical form of another."""

from __future__ import annotations

from functools import cache

import pymorphy3

__all__ = ["analyzer", "inflect_like", "with_case_of"]

# The grammemes a replacement takes over from the word it replaces.
_AGREEMENT = ("case", "number", "gender")
_PROPER = frozenset({"Name", "Surn", "Patr", "Geox", "Orgn"})


@cache
def analyzer() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer(lang="ru")


def inflect_like(replacement: str, model: str) -> str:
    """``replacement`` in the case and number ``model`` is in, cased like ``model``:
    inflect_like("Спанов", "Спаровым") == "Спановым". Unchanged when no form fits."""
    if " " in replacement or "-" in replacement:
        return with_case_of(model, replacement)
    heard = analyzer().parse(model.lower())[0]
    wanted = {value for name in _AGREEMENT if (value := getattr(heard.tag, name, None)) is not None}
    parses = analyzer().parse(replacement.lower())
    if replacement[:1].isupper():  # a capitalised word is a name: inflect it as one
        parses = sorted(parses, key=lambda parse: not _PROPER & set(parse.tag.grammemes))
    for parse in parses[:3]:
        for grammemes in (wanted, wanted - {"gender"}):
            inflected = parse.inflect(grammemes) if grammemes else None
            if inflected is not None:
                return with_case_of(model, with_case_of(replacement, inflected.word))
    return with_case_of(model, replacement)


def _parses(word: str) -> list[pymorphy3.analyzer.Parse]:
    """pymorphy3's readings; a capitalised word is read as a name first («Спаров» as a
    surname, not the genitive plural of «спар»)."""
    parses = analyzer().parse(word.lower())
    if word[:1].isupper():
        parses = sorted(parses, key=lambda parse: not _PROPER & set(parse.tag.grammemes))
    return list(parses)


def with_case_of(model: str, text: str) -> str:
    """``text`` upper-cased, capitalised or lower-cased as ``model`` is."""
    if model.isupper() and len(model) > 1:
        return text.upper()
    if model[:1].isupper():
        return text[:1].upper() + text[1:]
    return text
