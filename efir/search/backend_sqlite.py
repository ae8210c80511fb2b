"""SQLite FTS5: the embedded backend. Ranks by FTS5's own bm25() (lower is better, negated)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product
from typing import Any

from sqlalchemy import ColumnElement, Select, column, func, literal_column, select, table
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from efir.search.resolve import Positions, ResolvedQuery
from efir.search.schema import search_segments, search_terms

__all__ = ["candidates", "fts_expression", "insert_terms"]

_fts_table = table("search_segments_fts", column("rowid"))
_fts_name: ColumnElement[Any] = literal_column("search_segments_fts")


def _fts_clause(positions: Positions) -> str:
    # FTS5 phrases cannot hold alternatives, so a phrase becomes an OR of every
    # combination; resolve.py caps how many combinations a query may produce.
    phrases = (" ".join(terms) for terms in product(*positions))
    return "(" + " OR ".join(f'"{phrase}"' for phrase in phrases) + ")"


def fts_expression(resolved: ResolvedQuery) -> str:
    expression = " AND ".join(_fts_clause(p) for p in resolved.required)
    if resolved.excluded:
        excluded = " OR ".join(_fts_clause(p) for p in resolved.excluded)
        expression = f"({expression}) NOT ({excluded})"
    return expression


def candidates(
    session: Session,
    resolved: ResolvedQuery,
    filters: Sequence[ColumnElement[bool]],
    limit: int,
) -> Select[Any]:
    """(id, score) of the newest ``limit`` matching segments that pass the filters.

    The session is unused here (PostgreSQL's planner needs statistics read first).
    """
    # bm25() only works in the query holding the MATCH, so it is computed here, and
    # only for the rows the LIMIT keeps: FTS5 walks its doclists backwards by rowid.
    joined = _fts_table.join(search_segments, search_segments.c.id == _fts_table.c.rowid)
    source = joined if filters else _fts_table
    return (
        select(_fts_table.c.rowid.label("id"), (-func.bm25(_fts_name)).label("score"))
        .select_from(source)
        .where(_fts_name.op("MATCH")(fts_expression(resolved)), *filters)
        .order_by(_fts_table.c.rowid.desc())
        .limit(limit)
    )


def insert_terms(session: Session, pairs: Sequence[dict[str, str]]) -> None:
    if pairs:
        session.execute(insert(search_terms).on_conflict_do_nothing(), list(pairs))
