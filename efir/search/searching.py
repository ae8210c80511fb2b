"""Running a SearchQuery: filters and paging shared, matching and ranking per backend.

Ranking cost is bounded. Each backend takes the newest ``MAX_RANKED_CANDIDATES``
matching segments that pass the filters (newest = most recently indexed: highest
row id), scores only those, and cuts the page from them. A query with fewer
matches is ranked over all of them; one with more says so:
``SearchPage.ranking == "recent-first"``. Then only candidates scoring at least
the last needed row's score are joined to their wide rows for the tie-break.
FTS5 walks its doclists backwards by rowid; PostgreSQL reads BRIN id windows from
the newest backwards (backend_postgres.py). Filters served by indexes are applied
before the word's matches are read (backend_sqlite.py, backend_postgres.py).

Exact hits come first; the query's sound-alike terms (efir.search.fuzzy) give the
hits after them, marked ``sounds_like``, from the page where the exact ones end.
Those rank by how close the spelling they hold is to the query's (their tier,
efir.search.resolve), then by score within a tier: a rarer far spelling's higher
bm25 never puts it before a closer one.

Why the cap is 1,000, how the filters were tuned, and the figures measured at
1,000,000 segments: bench/results/search_ranking.txt.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from typing import Any

from sqlalchemy import CTE, ColumnElement, Row, Select, and_, func, literal, or_, select
from sqlalchemy.orm import Session

from efir.search.highlight import Highlighter
from efir.search.indexing import backend_of
from efir.search.lemmas import normalise
from efir.search.models import ClipHits, SearchHit, SearchPage, clip_url, media_url
from efir.search.query import SearchQuery, SearchQueryError
from efir.search.resolve import ResolvedQuery, resolve, resolve_sounds_like
from efir.search.schema import search_segments as segments
from efir.search.schema import search_speakers
from efir.transcripts.model import ROLE_LABELS_RU, SpeakerRole

__all__ = ["MAX_RANKED_CANDIDATES", "search", "search_filled"]

# Matches ranked per query; beyond this the newest are ranked and the rest left out.
MAX_RANKED_CANDIDATES = 1000

_ROLE_BY_NAME = {
    **{normalise(label): role for role, label in ROLE_LABELS_RU.items()},
    **{role.value: role for role in SpeakerRole},
}


def _role_value(role: str) -> str:
    try:
        return _ROLE_BY_NAME[normalise(role.strip())].value
    except KeyError:
        names = ", ".join(sorted(_ROLE_BY_NAME))
        raise SearchQueryError(
            f"Неизвестная роль «{role}»; допустимо: {names}. "
            f"Unknown role «{role}»; known roles: {names}."
        ) from None


def speaker_keys_containing(speaker: str) -> Select[tuple[str]]:
    """The indexed speaker keys holding ``speaker`` (a trigram index serves it on
    PostgreSQL: migration 0019)."""
    fragment = normalise(speaker.strip())
    return select(search_speakers.c.speaker_key).where(
        search_speakers.c.speaker_key.contains(fragment, autoescape=True)
    )


def _filters(session: Session, query: SearchQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.speaker:
        # The substring is looked for among the few thousand distinct speaker keys,
        # not in every segment. The keys found go in as values, not a subquery, so
        # both planners see an index lookup they can intersect with the word's matches.
        matching_keys = session.scalars(speaker_keys_containing(query.speaker)).all()
        key_matches = backend_of(session).one_of(segments.c.speaker_key, matching_keys)
        conditions.append(or_(segments.c.voice_id == query.speaker, key_matches))
    if query.role:
        conditions.append(segments.c.role == _role_value(query.role))
    if query.date_from:
        conditions.append(segments.c.air_date >= query.date_from)
    if query.date_to:
        conditions.append(segments.c.air_date <= query.date_to)
    if query.programme:
        conditions.append(segments.c.programme == query.programme)
    if query.channel:
        conditions.append(segments.c.channel == query.channel)
    if query.clip_id:
        conditions.append(segments.c.clip_id == query.clip_id)
    return conditions


_MAX_CURSOR_OFFSET = 10**9


def _cursor_key(query: SearchQuery) -> str:
    return hashlib.sha256(query.fingerprint().encode()).hexdigest()[:16]


def _encode_cursor(query: SearchQuery, offset: int) -> str:
    payload = json.dumps({"offset": offset, "key": _cursor_key(query)}).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def _decode_cursor(query: SearchQuery) -> int:
    if not query.cursor:
        return 0
    try:
        padded = query.cursor + "=" * (-len(query.cursor) % 4)
        payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
        offset = int(payload["offset"])
    except (ValueError, KeyError, TypeError) as error:
        raise SearchQueryError(
            "Испорченный курсор страницы. The page cursor is damaged."
        ) from error
    if payload.get("key") != _cursor_key(query) or offset < 0:
        raise SearchQueryError(
            "Курсор относится к другому запросу. The page cursor belongs to another query."
        )
    if offset > _MAX_CURSOR_OFFSET:  # crafted: past any archive, and past SQL's integers
        raise SearchQueryError(
            "Курсор страницы за пределами результатов. The page cursor is out of range."
        )
    return offset


def _rank_order(
    tier: ColumnElement[Any], score: ColumnElement[Any], columns: Any
) -> tuple[ColumnElement[Any], ...]:
    return (
        tier,
        score.desc(),
        columns.air_date.desc().nulls_last(),
        columns.clip_id,
        columns.start,
        columns.segment_id,
    )


def _ranked(
    session: Session,
    query: SearchQuery,
    resolved: ResolvedQuery,
    rows_needed: int,
    max_ranked: int,
) -> Select[Any]:
    """Ids, tiers, scores and candidate count of the ranked matches, best first: by
    tier (sound-alikes; exact hits are all tier 0), then score."""
    candidates = (
        backend_of(session)
        .candidates(session, resolved, _filters(session, query), max_ranked)
        .cte("candidates")
        .prefix_with("MATERIALIZED")
    )
    count = select(func.count()).select_from(candidates).scalar_subquery()
    ranked = (
        select(segments.c.id, candidates.c.tier, candidates.c.score, count.label("candidate_count"))
        .join(candidates, candidates.c.id == segments.c.id)
        .where(_as_good_as_last_needed(candidates, rows_needed, tiered=bool(resolved.tiers)))
    )
    return ranked.order_by(*_rank_order(candidates.c.tier, candidates.c.score, segments.c))


def _as_good_as_last_needed(
    candidates: CTE, rows_needed: int, *, tiered: bool
) -> ColumnElement[bool]:
    """Whether a candidate ranks at least as well as the last row the page needs.

    The tie-break keys live in the wide segment rows; reading them for every
    candidate costs more than ranking. Only rows ranking at least as well as the
    last needed row (its tier, then its score) can be on the page, whatever the
    tie-break, so only those are read. Exact hits are all of one tier: their score
    alone is compared (one sort of the candidates, not two)."""
    last_needed = (
        select(candidates.c.tier, candidates.c.score)
        .order_by(candidates.c.tier, candidates.c.score.desc())
        .offset(rows_needed - 1)
        .limit(1)
        .subquery()
    )
    last_score = select(last_needed.c.score).scalar_subquery()
    if not tiered:
        return or_(last_score.is_(None), candidates.c.score >= last_score)
    last_tier = select(last_needed.c.tier).scalar_subquery()
    return or_(
        last_tier.is_(None),
        candidates.c.tier < last_tier,
        and_(candidates.c.tier == last_tier, candidates.c.score >= last_score),
    )


def _browse(session: Session, query: SearchQuery) -> Select[Any]:
    """Filters alone browse the archive, newest first."""
    tier, score = literal(0), literal(0.0)
    browse = select(
        segments.c.id, tier.label("tier"), score.label("score"), literal(0).label("candidate_count")
    )
    return browse.where(*_filters(session, query)).order_by(*_rank_order(tier, score, segments.c))


def _page_rows(session: Session, statement: Select[Any], limit: int, offset: int) -> list[Row[Any]]:
    page = statement.limit(limit).offset(offset).subquery("page")
    return list(
        session.execute(
            select(segments, page.c.score, page.c.candidate_count)
            .join(page, page.c.id == segments.c.id)
            .order_by(*_rank_order(page.c.tier, page.c.score, segments.c))
        ).all()
    )


def _hit(row: Row[Any], highlighter: Highlighter, *, exact: bool) -> SearchHit:
    terms = row.lemmas.split()
    return SearchHit(
        clip_id=row.clip_id,
        segment_id=row.segment_id,
        start=row.start,
        end=row.end,
        speaker_id=row.speaker_id,
        voice_id=row.voice_id,
        speaker_caption=row.speaker_caption,
        role=row.role,
        text=row.text,
        snippet=highlighter.snippet(row.text, terms),
        score=round(float(row.score), 6),
        url=clip_url(row.clip_id, row.start),
        media_url=media_url(row.clip_id, row.start),
        match="exact" if exact else "sounds_like",
        heard=None if exact else highlighter.heard(row.text, terms),
    )


def _exact_total(
    session: Session, query: SearchQuery, resolved: ResolvedQuery | None, max_ranked: int
) -> int:
    if resolved is None:
        return 0
    candidates = backend_of(session).candidates(
        session, resolved, _filters(session, query), max_ranked
    )
    return int(session.scalar(select(func.count()).select_from(candidates.subquery())) or 0)


def search(
    session: Session, query: SearchQuery, *, max_ranked: int = MAX_RANKED_CANDIDATES
) -> SearchPage:
    """One page of hits; a query with more than ``max_ranked`` matches ranks only the
    newest ``max_ranked`` of them and says so with ``ranking="recent-first"``.

    Exact hits come first. When they run out before the page is full, the page ends
    there and its cursor leads on to the query's sound-alike hits: their terms are
    looked up (``efir.search.fuzzy``) only on a page that starts past the exact
    hits, so a query with exact hits costs what it did before sound-alikes existed.
    ``search_filled`` follows that cursor for a caller that wants one full page.
    """
    offset = _decode_cursor(query)
    # One row past the page tells whether another page exists without counting.
    wanted = query.limit + 1
    exact: ResolvedQuery | None = None
    highlighter = Highlighter(frozenset())
    if not query.parsed.required:
        rows = _page_rows(session, _browse(session, query), wanted, offset)
    else:
        exact = resolve(session, query.parsed)
        rows = []
        if exact is not None:
            highlighter = exact.highlighter
            statement = _ranked(session, query, exact, offset + wanted, max_ranked)
            rows = _page_rows(session, statement, wanted, offset)
    hits = [_hit(row, highlighter, exact=True) for row in rows]
    capped = bool(rows) and rows[0].candidate_count >= max_ranked
    next_offset = offset + query.limit if len(rows) > query.limit else None
    if query.fuzzy and query.parsed.required and len(rows) < wanted and not capped:
        if rows:
            next_offset = offset + len(rows)
        else:
            # Where the exact hits ended: the start of the archive's, or counted.
            exact_total = _exact_total(session, query, exact, max_ranked) if offset else 0
            rows, highlighter = _sounds_like_rows(
                session, query, exact, max(0, offset - exact_total), max_ranked
            )
            hits = [_hit(row, highlighter, exact=False) for row in rows]
            next_offset = offset + query.limit if len(rows) > query.limit else None
    groups: dict[str, ClipHits] = {}
    for row, hit in zip(rows[: query.limit], hits, strict=False):
        group = groups.setdefault(
            row.clip_id,
            ClipHits(row.clip_id, row.title, row.programme, row.channel, row.air_date),
        )
        group.hits.append(hit)
    # A reader of one clip wants its moments in time order (exact ones before the
    # sounds-like); the clips keep the order of their best hit.
    for group in groups.values():
        group.hits.sort(key=lambda hit: (hit.match != "exact", hit.start))
    return SearchPage(
        query=query.text,
        clips=list(groups.values()),
        hit_count=min(len(rows), query.limit),
        next_cursor=None if next_offset is None else _encode_cursor(query, next_offset),
        ranking="recent-first" if capped else "bm25",
    )


def _sounds_like_rows(
    session: Session,
    query: SearchQuery,
    exact: ResolvedQuery | None,
    offset: int,
    max_ranked: int,
) -> tuple[list[Row[Any]], Highlighter]:
    """A page (and one row) of the query's sound-alike hits, ``offset`` past their first."""
    sounds_like = resolve_sounds_like(session, query.parsed, exact)
    if sounds_like is None:
        return [], Highlighter(frozenset())
    wanted = query.limit + 1
    statement = _ranked(session, query, sounds_like, offset + wanted, max_ranked)
    return _page_rows(session, statement, wanted, offset), sounds_like.highlighter


def search_filled(
    session: Session, query: SearchQuery, *, max_ranked: int = MAX_RANKED_CANDIDATES
) -> SearchPage:
    """One full page as a reader sees it: where the exact hits end short of the page,
    the sound-alike hits that follow fill the rest (a second ``search``)."""
    page = search(session, query, max_ranked=max_ranked)
    room = query.limit - page.hit_count
    if not (page.next_cursor and room > 0):
        return page
    rest = search(
        session, replace(query, cursor=page.next_cursor, limit=room), max_ranked=max_ranked
    )
    groups = {group.clip_id: replace(group, hits=list(group.hits)) for group in page.clips}
    for group in rest.clips:
        groups.setdefault(group.clip_id, replace(group, hits=[])).hits.extend(group.hits)
    return replace(
        page,
        clips=list(groups.values()),
        hit_count=page.hit_count + rest.hit_count,
        next_cursor=rest.next_cursor,
    )
