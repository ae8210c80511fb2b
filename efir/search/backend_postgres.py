"""PostgreSQL: tsvector of the same terms, GIN index, ranked by ts_rank_cd."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    Text,
    cast,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import TSQUERY, insert
from sqlalchemy.orm import Session

from efir.search.resolve import Positions, ResolvedQuery
from efir.search.schema import search_segments

__all__ = ["candidates", "insert_missing", "new_terms", "tsquery_text"]

_vector: ColumnElement[Any] = literal_column("search_segments.lemma_vector")
# Normalisation 1 divides by 1 + log(segment length): BM25's length damping, roughly.
_RANK_NORMALISATION = 1
# A word in at least this share of segments is found by walking ids newest first.
_WALK_FREQUENCY = 0.02
_ELEMENT_STATS = text(
    "SELECT most_common_elems::text::text[] AS elems, most_common_elem_freqs AS freqs"
    " FROM pg_stats WHERE tablename = 'search_segments' AND attname = 'lemma_vector'"
)


def _tsquery_clause(positions: Positions) -> str:
    alternatives = ("(" + " | ".join(f"'{term}'" for term in terms) + ")" for terms in positions)
    return "(" + " <-> ".join(alternatives) + ")"


def tsquery_text(resolved: ResolvedQuery) -> str:
    required = " & ".join(_tsquery_clause(p) for p in resolved.required)
    return required + "".join(f" & !{_tsquery_clause(p)}" for p in resolved.excluded)


def candidates(
    session: Session,
    resolved: ResolvedQuery,
    filters: Sequence[ColumnElement[bool]],
    limit: int,
) -> Select[Any]:
    """(id, score) of the newest ``limit`` matching segments that pass the filters."""
    # The terms go in verbatim (a ::tsquery cast, not to_tsquery) to mirror the
    # verbatim vector; see schema.py.
    query = cast(literal(tsquery_text(resolved), Text), TSQUERY)
    score = func.ts_rank_cd(_vector, query, _RANK_NORMALISATION)
    # Walking the primary key backwards until `limit` rows match is fast only when
    # matches are dense; for a rare word (or a selective filter) it reads the whole
    # table (measured: rare words p50 678 ms), so there the planner must take the
    # GIN index, which "id + 0" forces. The same rows either way.
    walk = not filters and _frequency(session, resolved) >= _WALK_FREQUENCY
    newest_first = search_segments.c.id if walk else search_segments.c.id + 0
    return (
        select(search_segments.c.id, score.label("score"))
        .where(_vector.op("@@")(query), *filters)
        .order_by(newest_first.desc())
        .limit(limit)
    )


def _frequency(session: Session, resolved: ResolvedQuery) -> float:
    """The share of segments holding the query's one word, from ANALYZE's element
    stats; 0 (rare) for a word not among the most common, and for phrases and
    several words, whose matches can be rare however common each word is."""
    if len(resolved.required) != 1 or len(resolved.required[0]) != 1:
        return 0.0
    row = session.execute(_ELEMENT_STATS).first()
    if row is None or row.elems is None:
        return 0.0
    share = dict(zip(row.elems, row.freqs, strict=False))
    ((terms,),) = resolved.required
    return float(sum(share.get(term, 0.0) for term in terms))


def insert_missing(session: Session, into: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows whose key is not there yet (a concurrent indexer may add it first)."""
    if rows:
        session.execute(insert(into).on_conflict_do_nothing(), list(rows))


_NEW_TERMS = text(
    'SELECT term FROM unnest(CAST(:terms AS text[]) COLLATE "C") AS given(term)'
    " WHERE NOT EXISTS (SELECT 1 FROM search_terms WHERE search_terms.term = given.term)"
)


def new_terms(session: Session, terms: Sequence[str]) -> list[str]:
    """The terms not in search_terms yet."""
    return list(session.scalars(_NEW_TERMS, {"terms": list(terms)}))
