"""The archive query language and the filters around it.

Костанай неправительственная   every word required, any inflection
"Костанайской области"         exact phrase: adjacent lemmas in this order
-погода  -"прогноз погоды"     exclusion of a word or a phrase
правительств*                  prefix of a lemma (at least two letters)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from efir.errors import EfirError
from efir.search.lemmas import normalise, query_lemmas, tokenize

__all__ = [
    "MAX_LIMIT",
    "Clause",
    "ParsedQuery",
    "Phrase",
    "Prefix",
    "SearchQuery",
    "SearchQueryError",
    "Word",
    "parse_query",
]

MAX_LIMIT = 100
MIN_PREFIX_LETTERS = 2

# A chunk is an optionally negated quoted phrase or a run of non-space characters.
_CHUNK_RE = re.compile(r'(-?)"([^"]*)"?|(\S+)')
# Russian keyboards type «ёлочки» and „лапки“: every such quote opens or closes a phrase.
_QUOTES = str.maketrans(dict.fromkeys("«»„“”‟", '"'))


class SearchQueryError(EfirError):
    """The query or its filters cannot be run; the message is fit to show a user."""


@dataclass(frozen=True)
class Word:
    lemmas: frozenset[str]
    # As typed (lower case, ё = е): a sound-alike spelt nearer to it ranks first. A
    # ranking hint, not the query's meaning: clauses of the same lemmas compare equal.
    spelt: str = field(default="", compare=False)


@dataclass(frozen=True)
class Phrase:
    words: tuple[frozenset[str], ...]
    spelt: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Prefix:
    stem: str


Clause = Word | Phrase | Prefix


@dataclass(frozen=True)
class ParsedQuery:
    required: tuple[Clause, ...] = ()
    excluded: tuple[Clause, ...] = ()


@dataclass(frozen=True)
class SearchQuery:
    """One archive search: query text, filters on clip and speaker, and a page."""

    text: str = ""
    # A registry voice id, or a substring of the on-screen caption (any case, ё = е).
    speaker: str | None = None
    # A SpeakerRole value ("anchor") or its Russian label ("Ведущий").
    role: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    programme: str | None = None
    channel: str | None = None
    clip_id: str | None = None
    limit: int = 20
    cursor: str | None = None
    # Also find words the recogniser misheard («похоже по звучанию»), after the exact hits.
    fuzzy: bool = True
    parsed: ParsedQuery = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise SearchQueryError(
                f"limit должен быть от 1 до {MAX_LIMIT}. limit must be 1 to {MAX_LIMIT}."
            )
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise SearchQueryError(
                "Дата «с» позже даты «по». The «from» date is after the «to» date."
            )
        object.__setattr__(self, "parsed", parse_query(self.text))

    def fingerprint(self) -> str:
        """Everything but the cursor and limit: what a cursor is valid for."""
        return repr(
            (
                self.text,
                self.speaker,
                self.role,
                self.date_from,
                self.date_to,
                self.programme,
                self.channel,
                self.clip_id,
                self.fuzzy,
            )
        )


def _clause_of(chunk: str, *, quoted: bool) -> Clause | None:
    if not quoted and chunk.endswith("*"):
        stem = "".join(normalise(token.text) for token in tokenize(chunk))
        if len(stem) < MIN_PREFIX_LETTERS:
            raise SearchQueryError(
                f"Префикс «{chunk}» короче {MIN_PREFIX_LETTERS} букв. "
                f"The prefix «{chunk}» is shorter than {MIN_PREFIX_LETTERS} letters."
            )
        return Prefix(stem)
    tokens = list(tokenize(chunk))
    if not tokens:
        return None
    words = tuple(query_lemmas(token.text) for token in tokens)
    spelt = tuple(normalise(token.text) for token in tokens)
    return Word(words[0], spelt[0]) if len(words) == 1 else Phrase(words, spelt)


def parse_query(text: str) -> ParsedQuery:
    text = unicodedata.normalize("NFC", text).translate(_QUOTES)
    required: list[Clause] = []
    excluded: list[Clause] = []
    for match in _CHUNK_RE.finditer(text):
        negated_phrase, phrase, bare = match.groups()
        if phrase is not None:
            clause, negated = _clause_of(phrase, quoted=True), bool(negated_phrase)
        else:
            negated = bare.startswith("-") and len(bare) > 1
            clause = _clause_of(bare[1:] if negated else bare, quoted=False)
        if clause is not None:
            (excluded if negated else required).append(clause)
    if excluded and not required:
        raise SearchQueryError(
            "Исключения (-слово) работают только вместе с искомыми словами. "
            "Exclusions (-word) need a word to look for."
        )
    return ParsedQuery(tuple(required), tuple(excluded))
