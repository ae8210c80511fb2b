"""SQLite FTS5: the embedded backend. Ranks by FTS5's own bm25()."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product
from typing import Any

from sqlalchemy import ColumnElement, FromClause, column, func, literal_column, table
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from efir.search.resolve import Positions, ResolvedQuery
from efir.search.schema import search_segments, search_terms

__all__ = ["fts_expression", "insert_terms", "match"]

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


def match(resolved: ResolvedQuery) -> tuple[FromClause, ColumnElement[bool], ColumnElement[float]]:
    source = _fts_table.join(search_segments, search_segments.c.id == _fts_table.c.rowid)
    condition = _fts_name.op("MATCH")(fts_expression(resolved))
    # bm25() is lower-is-better; efir scores are higher-is-better.
    return source, condition, -func.bm25(_fts_name)


def insert_terms(session: Session, pairs: Sequence[dict[str, str]]) -> None:
    if pairs:
        session.execute(insert(search_terms).on_conflict_do_nothing(), list(pairs))
