"""From query lemmas to the index terms that contain them, through ``search_terms``.

Both backends get the same resolved query, so they match the same positions.
``resolve_sounds_like`` adds each word's approximate terms (``efir.search.fuzzy``)
and excludes what the exact query matches, so its hits are only the new ones. It
also spells the query in tiers of closeness: the first holds only the closest
terms, each next one the terms one level farther too; a hit's tier is the first
it matches, so the tier of its closest spelling (efir.search.searching ranks by it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from math import prod

from sqlalchemy import select
from sqlalchemy.orm import Session

from efir.search.fuzzy import Closeness, Expansion, expand
from efir.search.highlight import Highlighter
from efir.search.query import Clause, ParsedQuery, Phrase, Prefix, SearchQueryError, Word
from efir.search.schema import search_terms

__all__ = ["Alternatives", "Positions", "ResolvedQuery", "resolve", "resolve_sounds_like"]

# Alternatives of one position, one per clause position.
Positions = tuple[tuple[str, ...], ...]
# A clause matches where any of these position sequences does.
Alternatives = tuple[Positions, ...]

# A phrase of ambiguous words expands to the product of its alternatives (FTS5 needs
# each combination spelt out); and a short prefix can expand to thousands of terms.
MAX_PHRASE_COMBINATIONS = 512
# Sound-alike terms widen a phrase only this far: each combination is a phrase to match.
MAX_SOUNDS_LIKE_COMBINATIONS = 64
MAX_PREFIX_TERMS = 2000


@dataclass(frozen=True)
class ResolvedQuery:
    required: tuple[Alternatives, ...]
    excluded: tuple[Positions, ...]
    highlighter: Highlighter
    # Segments matching every one of these are left out (the exact query's hits).
    not_all: tuple[Alternatives, ...] = ()
    # Sound-alike tiers, closest first: a match's tier is the number of the first of
    # these it matches (the query itself, ``required``, is the last tier).
    tiers: tuple[tuple[Alternatives, ...], ...] = ()


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
        raise SearchQueryError(
            f"Префикс «{stem}*» слишком общий: уточните его. "
            f"The prefix «{stem}*» matches too much; make it longer."
        )
    return tuple(sorted({r.term for r in rows})), frozenset(r.lemma for r in rows)


def _positions(session: Session, clause: Clause, lemmas_seen: set[str]) -> Positions:
    if isinstance(clause, Prefix):
        terms, lemmas = _prefix_terms(session, clause.stem)
        lemmas_seen |= lemmas
        return (terms,)
    words = clause.words if isinstance(clause, Phrase) else (clause.lemmas,)
    positions = tuple(_terms_of(session, lemmas) for lemmas in words)
    if prod(len(terms) for terms in positions) > MAX_PHRASE_COMBINATIONS:
        raise SearchQueryError(
            "Фраза слишком неоднозначна: сократите её. The phrase is too ambiguous; shorten it."
        )
    if isinstance(clause, Word):
        lemmas_seen |= clause.lemmas
    return positions


def _excluded(session: Session, parsed: ParsedQuery) -> tuple[Positions, ...]:
    return tuple(
        positions
        for positions in (_positions(session, c, set()) for c in parsed.excluded)
        if all(positions)
    )


def resolve(session: Session, parsed: ParsedQuery) -> ResolvedQuery | None:
    """The query in index terms, or None when a required word occurs nowhere."""
    lemmas_seen: set[str] = set()
    required = tuple(_positions(session, c, lemmas_seen) for c in parsed.required)
    if any(not all(position) for position in required):
        return None
    phrases = tuple(c.words for c in parsed.required if isinstance(c, Phrase))
    return ResolvedQuery(
        tuple((positions,) for positions in required),
        _excluded(session, parsed),
        Highlighter(frozenset(lemmas_seen), phrases),
    )


def _phrase_alternatives(positions: Positions, expansions: list[Expansion]) -> Positions:
    """Each phrase position with its approximate terms, as many as the FTS5 cap allows."""
    widened = [list(terms) for terms in positions]
    for rank in range(max((len(e.terms) for e in expansions), default=0)):
        for terms, expansion in zip(widened, expansions, strict=True):
            if rank >= len(expansion.terms) or expansion.terms[rank] in terms:
                continue
            combinations = prod(len(t) for t in widened if t is not terms) * (len(terms) + 1)
            if combinations > max(MAX_SOUNDS_LIKE_COMBINATIONS, prod(map(len, positions))):
                return tuple(tuple(t) for t in widened)
            terms.append(expansion.terms[rank])
    return tuple(tuple(t) for t in widened)


# A clause's alternatives with the approximate terms at most this far.
_Within = Callable[[Closeness], Alternatives]


def _always(alternatives: Alternatives) -> _Within:
    """A prefix's terms: exact ones, the same in every tier."""
    return lambda _: alternatives


def _word_within(positions: Positions, expansion: Expansion) -> _Within:
    def within(level: Closeness) -> Alternatives:
        near = expansion.within(level)
        single = tuple(sorted({*positions[0], *near.terms}))
        pairs = tuple(((left,), (right,)) for left, right in near.pairs)
        return ((single,), *pairs) if single else pairs

    return within


def _phrase_within(positions: Positions, expansions: list[Expansion]) -> _Within:
    # Widened once with every term, then cut: the tiers together match the whole query.
    widened = _phrase_alternatives(positions, expansions)

    def within(level: Closeness) -> Alternatives:
        kept = tuple(
            tuple(t for t in terms if t in given or expansion.closeness[t] <= level)
            for terms, given, expansion in zip(widened, positions, expansions, strict=True)
        )
        return (kept,) if all(kept) else ()

    return within


def resolve_sounds_like(
    session: Session, parsed: ParsedQuery, exact: ResolvedQuery | None
) -> ResolvedQuery | None:
    """The query with every word's approximate terms added, minus the exact query's
    matches, with its tiers of closeness; None when no word has any."""
    clauses: list[_Within] = []
    fuzzy_terms: set[str] = set()
    fuzzy_pairs: set[tuple[str, str]] = set()
    levels: set[Closeness] = set()
    lemmas_seen: set[str] = set(exact.highlighter.word_lemmas) if exact else set()
    # The exact query's positions, when it has them, need not be looked up again.
    known = [alternatives[0] for alternatives in exact.required] if exact else None
    for index, clause in enumerate(parsed.required):
        positions = known[index] if known else _positions(session, clause, lemmas_seen)
        if isinstance(clause, Prefix):
            clauses.append(_always((positions,)))
            continue
        words = clause.words if isinstance(clause, Phrase) else (clause.lemmas,)
        typed = clause.spelt if isinstance(clause, Phrase) else (clause.spelt,)
        typed = typed or ("",) * len(words)  # a clause built without its spellings
        expansions = [
            expand(session, lemmas, terms, spelt)
            for lemmas, terms, spelt in zip(words, positions, typed, strict=True)
        ]
        if isinstance(clause, Word):
            clauses.append(_word_within(positions, expansions[0]))
            fuzzy_pairs |= set(expansions[0].pairs)
        else:
            clauses.append(_phrase_within(positions, expansions))
        fuzzy_terms |= {term for expansion in expansions for term in expansion.terms}
        levels |= {level for expansion in expansions for level in expansion.levels()}
    phrases = tuple(c.words for c in parsed.required if isinstance(c, Phrase))
    highlighter = Highlighter(
        frozenset(lemmas_seen), phrases, frozenset(fuzzy_terms), frozenset(fuzzy_pairs)
    )
    not_all = exact.required if exact else ()
    tiers: list[tuple[Alternatives, ...]] = []
    for level in sorted(levels):
        required = tuple(within(level) for within in clauses)
        # A level at which some word has no term yet matches nothing.
        if all(required) and required not in (not_all, *tiers):
            tiers.append(required)
    if not tiers:
        return None
    *closer, required = tiers
    return ResolvedQuery(required, _excluded(session, parsed), highlighter, not_all, tuple(closer))
