"""PostgreSQL: tsvector of the same terms, GIN index, ranked by ts_rank_cd.

The GIN index yields matches in no useful order, and every match it yields costs
a heap visit (the vector is needed to rank it; at 1,000,000 segments the table is
~1.3 GB, so most visits read a page from the OS cache: 5-20 us each here). So the
newest matches are read through id windows from the newest backwards, each sized
to hold the candidates still needed at the density expected (the planner's
estimate first, then the density just seen); a BRIN index on id (migration 0009)
turns a window into a page-range bitmap, so a query visits about as many rows as
it ranks instead of every match in the archive.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from math import sqrt
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Float,
    Integer,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType, TypeEngine

from efir.search.schema import search_segments

if TYPE_CHECKING:
    # Types only: efir.search.fuzzy (imported by resolve) uses these backends.
    from efir.search.resolve import Alternatives, Positions, ResolvedQuery

__all__ = [
    "candidates",
    "count_matches",
    "many_of",
    "not_stored",
    "one_of",
    "tsquery_text",
]

_vector: ColumnElement[Any] = literal_column("search_segments.lemma_vector")
# Normalisation 1 divides by 1 + log(segment length): BM25's length damping, roughly.
_RANK_NORMALISATION = 1
# An id window is sized to hold this many times the matches still needed.
_WINDOW_MARGIN = 1.25
# Below this many expected matches per ranked candidate, all are read at once.
_FEW_MATCHES = 4
# One heap visit costs about this many filter-bitmap rows (measured here at 1M
# segments: 5-8 us a visit, 0.1-0.3 us a bitmap row); see candidates().
_HEAP_VISIT_COST = 25
# Checking a word on a row a window reads costs about as much as putting this many
# of its matches into the GIN bitmap (measured at 1M segments: ~1 us a row, ~0.2 us
# a match), and a heap page holds about this many segments; see _word_on_rows().
_ROW_CHECK_COST = 5
_ROWS_PER_PAGE = 6
# A filter's bitmap read at once (a role from a year on: 130-180k rows at 1M) outgrows
# the default 4 MB and turns lossy, a page per entry, so the word's matches on those
# pages are visited and rejected too (2,789 heap pages for 1,369 rows). This much
# keeps a row per entry up to ~400k heap pages (~2.4M segments); see candidates().
_BITMAP_WORK_MEM = "32MB"


def _tsquery_clause(positions: Positions) -> str:
    alternatives = ("(" + " | ".join(f"'{term}'" for term in terms) + ")" for terms in positions)
    return "(" + " <-> ".join(alternatives) + ")"


def _tsquery_all(clauses: tuple[Alternatives, ...]) -> str:
    alternatives = ("(" + " | ".join(map(_tsquery_clause, a)) + ")" for a in clauses)
    return "(" + " & ".join(alternatives) + ")"


def tsquery_text(resolved: ResolvedQuery) -> str:
    required = _tsquery_all(resolved.required)
    excluded = "".join(f" & !{_tsquery_clause(p)}" for p in resolved.excluded)
    if resolved.not_all:
        excluded += f" & !{_tsquery_all(resolved.not_all)}"
    return required + excluded


def candidates(
    session: Session,
    resolved: ResolvedQuery,
    filters: Sequence[ColumnElement[bool]],
    limit: int,
) -> Select[Any]:
    """(id, tier, score) of the newest ``limit`` matching segments that pass the filters."""
    # The terms go in verbatim (a ::tsquery cast, not to_tsquery) to mirror the
    # verbatim vector; see schema.py.
    query = cast(literal(tsquery_text(resolved), Text), TSQUERY)
    matches = _vector.op("@@")(query)
    newest = session.scalar(select(func.max(search_segments.c.id))) or 0
    expected = _estimated_rows(session, select(search_segments.c.id).where(matches))
    word_share = expected / newest if newest else 1.0
    where = list(filters)
    on_rows: list[ColumnElement[bool]] = []
    unindexed_share = 1.0
    if filters and newest:
        # Two estimates combined as the planner would (independence), because
        # planning the filters once more with the word costs as much again for a
        # speaker filter's list of hundreds of keys.
        passing = _estimated_rows(session, select(search_segments.c.id).where(*filters))
        word_matches, expected = expected, expected * passing / newest
        windowed = expected >= _FEW_MATCHES * limit
        # Reading a filter's index builds a bitmap of every passing row, while
        # checking it on the rows visited costs one heap visit per match read: in
        # windows, a window widens as the filter narrows, so past this many passing
        # rows the visits are cheaper; read at once, every match is visited.
        visits = sqrt(limit * newest / _HEAP_VISIT_COST) if windowed else word_matches
        if passing > _HEAP_VISIT_COST * visits:
            on_rows, where = where, []
            unindexed_share = passing / newest
    else:
        windowed = newest > 0 and expected >= _FEW_MATCHES * limit
    filter_bitmap = bool(where)
    if windowed and _word_on_rows(word_share, unindexed_share, newest, limit):
        # Last: checked only on the rows that pass the filters checked on the rows.
        on_rows.append(matches)
    else:
        where.insert(0, matches)
    if on_rows:
        # "IS TRUE" keeps the planner off the indexes for these (checked on each row
        # read instead); it changes no result (NULL fails a WHERE either way), and
        # AND checks them in this order.
        where.append(and_(*on_rows).is_(True))
    newest_first = (
        select(
            search_segments.c.id,
            func.ts_rank_cd(_vector, query, _RANK_NORMALISATION),
            _tier(resolved),
        )
        .where(*where)
        # "id + 0": never a backwards primary-key walk, which reads every row of
        # the window when matches are sparse; a window is a BRIN page range.
        .order_by((search_segments.c.id + 0).desc())
    )
    if windowed:
        rows = _newest_in_windows(session, newest_first, newest, expected / newest, limit)
    else:
        # Room for the filter's bitmap to stay exact (see _BITMAP_WORK_MEM); windows
        # need none, their BRIN page range being lossy anyway.
        room = {"work_mem": f"'{_BITMAP_WORK_MEM}'"} if filter_bitmap else {}
        with _local_settings(session, room):
            rows = list(session.execute(newest_first.limit(limit)).all())
    # As array text (see _array_param): psycopg took ~1.5 ms a search to adapt the
    # three lists of 1,000 values one by one.
    found = (
        func.unnest(
            _array_param([str(row[0]) for row in rows], BigInteger),
            _array_param([repr(float(row[1])) for row in rows], Float),
            _array_param([str(row[2]) for row in rows], Integer),
        )
        .table_valued("id", "score", "tier")
        .render_derived()
    )
    return select(found.c.id, found.c.tier, found.c.score)


def _word_on_rows(word_share: float, unindexed_share: float, newest: int, limit: int) -> bool:
    """Whether a window should check the word on the rows it reads rather than AND in
    the word's GIN bitmap. The BRIN window is lossy, so every row of a page the bitmap
    keeps is checked anyway: GIN saves only the pages without a match, yet it builds
    the bitmap of the word's matches over the whole archive for every window (~36 ms
    for a word in a fifth of the segments at 1M, twice the rest of the window)."""
    # Rows a window reads to find the matches needed (only the rows passing the
    # filters checked on the heap thin them, not those an index gives).
    window_rows = _WINDOW_MARGIN * limit / max(word_share * unindexed_share, 1 / newest)
    pages_without_match = (1 - word_share) ** _ROWS_PER_PAGE
    return word_share * newest > _ROW_CHECK_COST * window_rows * pages_without_match


def _tier(resolved: ResolvedQuery) -> ColumnElement[int]:
    """The first of the sound-alike tiers the row matches (resolve.py): checked on
    the vector each ranked row is read for anyway."""
    if not resolved.tiers:
        return literal(0)
    return case(
        *(
            (_vector.op("@@")(cast(literal(_tsquery_all(tier), Text), TSQUERY)), number)
            for number, tier in enumerate(resolved.tiers)
        ),
        else_=len(resolved.tiers),
    )


def _newest_in_windows(
    session: Session, newest_first: Select[Any], newest: int, density: float, limit: int
) -> list[Any]:
    """The first ``limit`` rows of ``newest_first``, read one id window at a time from
    the newest backwards: each window sized to hold the rows still needed at the
    density expected (the planner's at first, then the one just seen), plus a margin;
    the last one open to the oldest id."""
    rows: list[Any] = []
    upper = newest + 1
    # Left to itself the planner may range-scan the primary key through a window
    # (reading every row in it: 167 ms where the BRIN page bitmap took 77 ms). A
    # window that checks the word on its rows is costed past jit_above_cost, but
    # compiling (~6 ms) costs more than the few thousand rows it runs on.
    with _local_settings(session, {"enable_indexscan": "off", "jit": "off"}):
        while upper > 1 and len(rows) < limit:
            needed = limit - len(rows)
            # Never narrower than the rows needed: a window holds at most one per id.
            lower = upper - max(needed, int(_WINDOW_MARGIN * needed / density))
            window = [search_segments.c.id < upper]
            if lower > 1:
                window.append(search_segments.c.id >= lower)
            found = session.execute(newest_first.where(*window).limit(needed)).all()
            rows += found
            # Nothing found: assume half a match in the window, so the next is far wider.
            density = max(len(found), 0.5) / (upper - lower)
            upper = lower
    return rows


@contextmanager
def _local_settings(session: Session, settings: dict[str, str]) -> Iterator[None]:
    """Planner settings for the statements inside, back to the session's after. On an
    error the rollback undoes SET LOCAL, so no RESET is needed then."""
    for name, value in settings.items():
        session.execute(text(f"SET LOCAL {name} = {value}"))
    yield
    for name in settings:
        session.execute(text(f"RESET {name}"))


def _estimated_rows(session: Session, statement: Select[Any]) -> float:
    """The planner's row estimate: ANALYZE's lexeme frequencies times the filters'."""
    compiled = statement.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True}
    )
    plan = session.connection().exec_driver_sql(
        f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params
    )
    return float(plan.scalar_one()[0]["Plan"]["Plan Rows"])


def not_stored(session: Session, column: Column[Any], values: Sequence[str]) -> list[str]:
    """The values not in this column yet (search_terms.term, search_vocab.form)."""
    table = column.table.name
    # Table and column names come from our own schema objects; the values are bound.
    statement = text(
        f'SELECT value FROM unnest(CAST(:values AS text[]) COLLATE "C") AS given(value)'  # nosec B608
        f" WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {table}.{column.name} = given.value)"
    )
    return list(session.scalars(statement, {"values": list(values)}))


def _array_param(elements: Sequence[str], item_type: type[TypeEngine[Any]]) -> ColumnElement[Any]:
    """``'{…}'::item[]``: one parameter in PostgreSQL's array text, which psycopg sends
    as it is instead of adapting each value. Untyped, the parameter is parsed once, at
    bind time; a text one (what literal() sends) is cast per row on every recheck
    (seconds at 1M)."""
    array_text = "{" + ",".join(elements) + "}"
    return cast(bindparam(None, array_text, type_=NullType()), ARRAY(item_type))


def one_of(column: ColumnElement[Any], values: Sequence[str]) -> ColumnElement[bool]:
    """``column = ANY('{…}'::text[])``: one parameter however many values (a speaker
    filter passes hundreds of keys). Array text because psycopg took 3 ms to adapt a
    list of 1,200 keys (and an IN list as long cost 10-15 ms to bind and plan); the
    planner still sees every value."""
    elements = ['"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values]
    return column == any_(_array_param(elements, Text))


# One array parameter serves a list of any length here (see one_of).
many_of = one_of


def count_matches(session: Session, terms: Sequence[str], cap: int) -> int:
    """Segments holding any of the terms, counted up to ``cap``."""
    query = cast(literal(_tsquery_clause((tuple(terms),)), Text), TSQUERY)
    found = select(search_segments.c.id).where(_vector.op("@@")(query)).limit(cap).subquery()
    return int(session.scalar(select(func.count()).select_from(found)) or 0)
