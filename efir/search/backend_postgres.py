"""PostgreSQL: tsvector of the same terms, GIN index, ranked by ts_rank_cd."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Text, cast, func, literal, literal_column
from sqlalchemy.dialects.postgresql import TSQUERY, insert
from sqlalchemy.orm import Session

from efir.search.resolve import Positions, ResolvedQuery
from efir.search.schema import search_segments, search_terms

__all__ = ["insert_terms", "match", "tsquery_text"]

_vector: ColumnElement[Any] = literal_column("search_segments.lemma_vector")
# Normalisation 1 divides by 1 + log(segment length): BM25's length damping, roughly.
_RANK_NORMALISATION = 1


def _tsquery_clause(positions: Positions) -> str:
    alternatives = ("(" + " | ".join(f"'{term}'" for term in terms) + ")" for terms in positions)
    return "(" + " <-> ".join(alternatives) + ")"


def tsquery_text(resolved: ResolvedQuery) -> str:
    required = " & ".join(_tsquery_clause(p) for p in resolved.required)
    return required + "".join(f" & !{_tsquery_clause(p)}" for p in resolved.excluded)


def match(resolved: ResolvedQuery) -> tuple[FromClause, ColumnElement[bool], ColumnElement[float]]:
    # The terms go in verbatim (a ::tsquery cast, not to_tsquery) to mirror the
    # verbatim vector; see schema.py.
    query = cast(literal(tsquery_text(resolved), Text), TSQUERY)
    condition = _vector.op("@@")(query)
    return search_segments, condition, func.ts_rank_cd(_vector, query, _RANK_NORMALISATION)


def insert_terms(session: Session, pairs: Sequence[dict[str, str]]) -> None:
    if pairs:
        session.execute(insert(search_terms).on_conflict_do_nothing(), list(pairs))
