"""From query lemmas to the index terms that contain them, through ``search_terms``.

Both backends get the same resolved query, so they match the same positions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from math import prod

from sqlalchemy import select
from sqlalchemy.orm import Session

from efir.search.highlight import Highlighter
from efir.search.query import Clause, ParsedQuery, Phrase, Prefix, SearchQueryError, Word
from efir.search.schema import search_terms

__all__ = ["Positions", "ResolvedQuery", "resolve"]

# Alternatives of one position, one per clause position.
Positions = tuple[tuple[str, ...], ...]

# A phrase of ambiguous words expands to the product of its alternatives (FTS5 needs
# each combination spelt out); and a short prefix can expand to thousands of terms.
MAX_PHRASE_COMBINATIONS = 512
MAX_PREFIX_TERMS = 2000


@dataclass(frozen=True)
class ResolvedQuery:
    required: tuple[Positions, ...]
    excluded: tuple[Positions, ...]
    highlighter: Highlighter


def _terms_of(session: Session, lemmas: Iterable[str]) -> tuple[str, ...]:
    rows = session.execute(
        select(search_terms.c.term).where(search_terms.c.lemma.in_(sorted(lemmas)))
    )
    return tuple(sorted({row.term for row in rows}))


def _prefix_terms(session: Session, stem: str) -> tuple[tuple[str, ...], frozenset[str]]:
    # A key range rather than LIKE: the same on both backends and served by the PK index.
    upper = stem[:-1] + chr(ord(stem[-1]) + 1)
    rows = session.execute(
        select(search_terms.c.lemma, search_terms.c.term)
        .where(search_terms.c.lemma >= stem, search_terms.c.lemma < upper)
        .limit(MAX_PREFIX_TERMS + 1)
    ).all()
    if len(rows) > MAX_PREFIX_TERMS:
        raise SearchQueryError(f"префикс «{stem}*» слишком общий: уточните его")
    return tuple(sorted({r.term for r in rows})), frozenset(r.lemma for r in rows)


def _positions(session: Session, clause: Clause, lemmas_seen: set[str]) -> Positions:
    if isinstance(clause, Prefix):
        terms, lemmas = _prefix_terms(session, clause.stem)
        lemmas_seen |= lemmas
        return (terms,)
    words = clause.words if isinstance(clause, Phrase) else (clause.lemmas,)
    positions = tuple(_terms_of(session, lemmas) for lemmas in words)
    if prod(len(terms) for terms in positions) > MAX_PHRASE_COMBINATIONS:
        raise SearchQueryError("фраза слишком неоднозначна: сократите её")
    if isinstance(clause, Word):
        lemmas_seen |= clause.lemmas
    return positions


def resolve(session: Session, parsed: ParsedQuery) -> ResolvedQuery | None:
    """The query in index terms, or None when a required word occurs nowhere."""
    lemmas_seen: set[str] = set()
    required = tuple(_positions(session, c, lemmas_seen) for c in parsed.required)
    if any(not all(position) for position in required):
        return None
    excluded = tuple(
        positions
        for positions in (_positions(session, c, set()) for c in parsed.excluded)
        if all(positions)
    )
    phrases = tuple(c.words for c in parsed.required if isinstance(c, Phrase))
    return ResolvedQuery(required, excluded, Highlighter(frozenset(lemmas_seen), phrases))
