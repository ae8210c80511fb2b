"""SQLite FTS5: the embedded backend. Ranks by FTS5's own bm25() (lower is better, negated)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import product
from math import sqrt
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Select,
    case,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from efir.search.schema import search_segments

if TYPE_CHECKING:
    # Types only: efir.search.fuzzy (imported by resolve) uses these backends.
    from efir.search.resolve import Alternatives, Positions, ResolvedQuery

__all__ = [
    "candidates",
    "count_matches",
    "fts_expression",
    "many_of",
    "not_stored",
    "one_of",
]

_fts_table = table("search_segments_fts", column("rowid"))
_fts_name: ColumnElement[Any] = literal_column("search_segments_fts")


def _fts_clause(positions: Positions) -> str:
    # FTS5 phrases cannot hold alternatives, so a phrase becomes an OR of every
    # combination; resolve.py caps how many combinations a query may produce.
    phrases = (" ".join(terms) for terms in product(*positions))
    return "(" + " OR ".join(f'"{phrase}"' for phrase in phrases) + ")"


def _fts_alternatives(alternatives: Alternatives) -> str:
    return "(" + " OR ".join(_fts_clause(p) for p in alternatives) + ")"


def _fts_all(clauses: tuple[Alternatives, ...]) -> str:
    return "(" + " AND ".join(_fts_alternatives(a) for a in clauses) + ")"


def fts_expression(resolved: ResolvedQuery) -> str:
    expression = _fts_all(resolved.required)
    excluded = [_fts_clause(p) for p in resolved.excluded]
    if resolved.not_all:
        excluded.append(_fts_all(resolved.not_all))
    if excluded:
        expression = f"{expression} NOT ({' OR '.join(excluded)})"
    return expression


# Two ways to apply filters to the backwards walk over a word's matches: gather the
# passing ids first and probe each match against that set (cost: one per passing
# id), or look each walked match's row up (cost: one row per match walked, until
# `limit` pass: min(matches, limit * segments / passing)). A row lookup costs about
# this many gathered ids (measured at 1,000,000 segments, under load 4-6: 14 us a
# row against 3-3.5 us an id). So the id set wins below sqrt(this * limit *
# segments) passing ids (63,000 at 1M, 35,000 at 300k: the old fixed 30,000), and
# only when the word has more than passing / this matches to walk: a rare word's
# few rows are looked up sooner than a broad filter's ids are gathered.
_ROW_LOOKUP_COST = 4


def candidates(
    session: Session,
    resolved: ResolvedQuery,
    filters: Sequence[ColumnElement[bool]],
    limit: int,
) -> Select[Any]:
    """(id, tier, score) of the newest ``limit`` matching segments that pass the filters."""
    # bm25() only works in the query holding the MATCH, so it is computed here, and
    # only for the rows the LIMIT keeps: FTS5 walks its doclists backwards by rowid.
    matches = _fts_name.op("MATCH")(fts_expression(resolved))
    statement = (
        select(
            _fts_table.c.rowid.label("id"),
            _tier(resolved).label("tier"),
            (-func.bm25(_fts_name)).label("score"),
        )
        .where(matches)
        .order_by(_fts_table.c.rowid.desc())
        .limit(limit)
    )
    if not filters:
        return statement
    # Both counts stop at the most that can still change the choice, and the word's
    # comes first: FTS5 counts a doclist far faster than an index yields ids.
    segments = session.scalar(select(func.max(search_segments.c.id))) or 0
    id_set_ceiling = int(sqrt(_ROW_LOOKUP_COST * limit * segments)) + 1
    matches_seen = _count_up_to(
        session, select(_fts_table.c.rowid).where(matches), id_set_ceiling // _ROW_LOOKUP_COST
    )
    passing = select(search_segments.c.id).where(*filters)
    passing_ceiling = min(id_set_ceiling, matches_seen * _ROW_LOOKUP_COST)
    if _count_up_to(session, passing, passing_ceiling) < passing_ceiling:
        # "+ 0" keeps SQLite from handing the ids to FTS5 as rowid lookups: one
        # doclist seek per id measured 0.7-300 s, against one backwards walk.
        return statement.where((_fts_table.c.rowid + 0).in_(passing))
    joined = _fts_table.join(search_segments, search_segments.c.id == _fts_table.c.rowid)
    return statement.select_from(joined).where(*filters)


def _tier(resolved: ResolvedQuery) -> ColumnElement[int]:
    """The first of the sound-alike tiers the row matches (resolve.py): each tier's
    matches are read once, into a set the kept rows are looked up in."""
    if not resolved.tiers:
        return literal(0)
    return case(
        *(
            (
                _fts_table.c.rowid.in_(
                    select(_fts_table.c.rowid)
                    .where(_fts_name.op("MATCH")(_fts_all(tier)))
                    .correlate(None)
                ),
                number,
            )
            for number, tier in enumerate(resolved.tiers)
        ),
        else_=len(resolved.tiers),
    )


def _count_up_to(session: Session, rows: Select[Any], ceiling: int) -> int:
    counted = select(func.count()).select_from(rows.limit(ceiling).subquery())
    return int(session.scalar(counted) or 0)


def not_stored(session: Session, column: Column[Any], values: Sequence[str]) -> list[str]:
    """The values not in this column yet (search_terms.term, search_vocab.form)."""
    # Table and column names come from our own schema objects; the values are bound.
    statement = text(
        f"SELECT value FROM json_each(:values) WHERE NOT EXISTS"  # nosec B608
        f" (SELECT 1 FROM {column.table.name} WHERE {column.name} = value)"
    )
    return list(session.scalars(statement, {"values": json.dumps(list(values))}))


def one_of(column: ColumnElement[Any], values: Sequence[str]) -> ColumnElement[bool]:
    return column.in_(values)


def many_of(column: ColumnElement[Any], values: Sequence[str]) -> ColumnElement[bool]:
    """``column IN`` a long list sent as one JSON parameter: binding hundreds of
    parameters cost more than the look-ups they feed (sound-alike variants)."""
    given = func.json_each(json.dumps(list(values))).table_valued("value")
    return column.in_(select(given.c.value))


def count_matches(session: Session, terms: Sequence[str], cap: int) -> int:
    """Segments holding any of the terms, counted up to ``cap``."""
    matches = _fts_name.op("MATCH")(_fts_clause((tuple(terms),)))
    return _count_up_to(session, select(_fts_table.c.rowid).where(matches), cap)
