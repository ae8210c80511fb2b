"""Archive search: GET /api/v1/search?q=…&speaker=…&from=…&to=…&programme=…"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import require
from api.deps import SessionDep
from efir.accounts.users import Permission
from efir.search import SearchPage, SearchQuery, search
from efir.search.query import MAX_LIMIT

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/search", tags=["search"])


@router.get("", response_model=SearchPage, dependencies=[require(Permission.SEARCH)])
def search_archive(
    session: SessionDep,
    q: Annotated[
        str, Query(description='Слова в любой форме, "фраза", -исключение, префикс*')
    ] = "",
    speaker: Annotated[str | None, Query(description="id голоса или часть подписи")] = None,
    role: Annotated[
        str | None, Query(description="anchor, correspondent… или «Ведущий», «Корр»")
    ] = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    programme: str | None = None,
    channel: str | None = None,
    clip: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    cursor: str | None = None,
    fuzzy: Annotated[
        bool,
        Query(description="Также «похоже по звучанию»: слова, которые модель расслышала иначе"),
    ] = True,
) -> SearchPage:
    """Hits in rank order grouped by clip; each opens the clip at the second it was said.
    Exact hits first, then (unless ``fuzzy=false``) ``"match": "sounds_like"`` ones."""
    query = SearchQuery(
        text=q,
        speaker=speaker,
        role=role,
        date_from=date_from,
        date_to=date_to,
        programme=programme,
        channel=channel,
        clip_id=clip,
        limit=limit,
        cursor=cursor,
        fuzzy=fuzzy,
    )
    return search(session, query)
