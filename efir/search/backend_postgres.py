"""PostgreSQL: tsvector of the same terms, GIN index, ranked by ts_rank_cd."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, cast, func, literal, literal_column, select
from sqlalchemy.dialects.postgresql import TSQUERY, insert
from sqlalchemy.orm import Session

from efir.search.resolve import Positions, ResolvedQuery
from efir.search.schema import search_segments, search_terms

__all__ = ["candidates", "insert_terms", "tsquery_text"]

_vector: ColumnElement[Any] = literal_column("search_segments.lemma_vector")
# Normalisation 1 divides by 1 + log(segment length): BM25's length damping, roughly.
_RANK_NORMALISATION = 1


def _tsquery_clause(positions: Positions) -> str:
    alternatives = ("(" + " | ".join(f"'{term}'" for term in terms) + ")" for terms in positions)
    return "(" + " <-> ".join(alternatives) + ")"


def tsquery_text(resolved: ResolvedQuery) -> str:
    required = " & ".join(_tsquery_clause(p) for p in resolved.required)
    return required + "".join(f" & !{_tsquery_clause(p)}" for p in resolved.excluded)


def candidates(
    resolved: ResolvedQuery, filters: Sequence[ColumnElement[bool]], limit: int
) -> Select[Any]:
    """(id, score) of the newest ``limit`` matching segments that pass the filters."""
    # The terms go in verbatim (a ::tsquery cast, not to_tsquery) to mirror the
    # verbatim vector; see schema.py.
    query = cast(literal(tsquery_text(resolved), Text), TSQUERY)
    # For a frequent word the planner walks the primary key backwards and stops at
    # the LIMIT; otherwise it reads every match through the GIN index, so a word in
    # 1-5% of segments still costs one heap visit per match (see the bench figures).
    score = func.ts_rank_cd(_vector, query, _RANK_NORMALISATION)
    return (
        select(search_segments.c.id, score.label("score"))
        .where(_vector.op("@@")(query), *filters)
        .order_by(search_segments.c.id.desc())
        .limit(limit)
    )


def insert_terms(session: Session, pairs: Sequence[dict[str, str]]) -> None:
    if pairs:
        session.execute(insert(search_terms).on_conflict_do_nothing(), list(pairs))
