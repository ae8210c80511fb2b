"""Running a SearchQuery: filters and paging shared, matching and ranking per backend."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, literal, or_, select
from sqlalchemy.orm import Session

from efir.search.highlight import Highlighter
from efir.search.indexing import backend_of
from efir.search.lemmas import normalise
from efir.search.models import ClipHits, SearchHit, SearchPage, clip_url, media_url
from efir.search.query import SearchQuery, SearchQueryError
from efir.search.resolve import resolve
from efir.search.schema import search_segments as segments
from efir.transcript import ROLE_LABELS_RU, Role

__all__ = ["search"]

_ROLE_BY_NAME = {
    **{normalise(label): role for role, label in ROLE_LABELS_RU.items()},
    **{role.value: role for role in Role},
}


def _role_value(role: str) -> str:
    try:
        return _ROLE_BY_NAME[normalise(role.strip())].value
    except KeyError:
        names = ", ".join(sorted(_ROLE_BY_NAME))
        raise SearchQueryError(f"неизвестная роль «{role}»; допустимо: {names}") from None


def _filters(query: SearchQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.speaker:
        conditions.append(
            or_(
                segments.c.voice_id == query.speaker,
                segments.c.speaker_key.contains(normalise(query.speaker.strip()), autoescape=True),
            )
        )
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
        raise SearchQueryError("испорченный курсор страницы") from error
    if payload.get("key") != _cursor_key(query) or offset < 0:
        raise SearchQueryError("курсор относится к другому запросу")
    return offset


def _statement(session: Session, query: SearchQuery) -> tuple[Select[Any], Highlighter] | None:
    if not query.parsed.required:
        # Filters alone browse the archive, newest first.
        source, conditions, score = segments, _filters(query), literal(0.0)
        highlighter = Highlighter(frozenset())
    else:
        resolved = resolve(session, query.parsed)
        if resolved is None:
            return None
        source, condition, score = backend_of(session).match(resolved)
        conditions, highlighter = [condition, *_filters(query)], resolved.highlighter
    statement = (
        select(segments, score.label("score"))
        .select_from(source)
        .where(*conditions)
        .order_by(
            score.desc(),
            segments.c.air_date.desc().nulls_last(),
            segments.c.clip_id,
            segments.c.start,
            segments.c.segment_id,
        )
    )
    return statement, highlighter


def _hit(row: Row[Any], highlighter: Highlighter) -> SearchHit:
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
        snippet=highlighter.snippet(row.text),
        score=round(float(row.score), 6),
        url=clip_url(row.clip_id, row.start),
        media_url=media_url(row.clip_id, row.start),
    )


def search(session: Session, query: SearchQuery) -> SearchPage:
    offset = _decode_cursor(query)
    planned = _statement(session, query)
    if planned is None:
        return SearchPage(query=query.text, clips=[], hit_count=0, next_cursor=None)
    statement, highlighter = planned
    # One row past the page tells whether another page exists without counting.
    rows = session.execute(statement.limit(query.limit + 1).offset(offset)).all()
    groups: dict[str, ClipHits] = {}
    for row in rows[: query.limit]:
        group = groups.setdefault(
            row.clip_id,
            ClipHits(row.clip_id, row.title, row.programme, row.channel, row.air_date),
        )
        group.hits.append(_hit(row, highlighter))
    more = len(rows) > query.limit
    return SearchPage(
        query=query.text,
        clips=list(groups.values()),
        hit_count=min(len(rows), query.limit),
        next_cursor=_encode_cursor(query, offset + query.limit) if more else None,
    )
