"""`efir search QUERY [filters] [--json | --json-page]`: the archive search from a terminal.

``--json`` prints the hits as one JSON list (the shape scripts already read, plus
``match``: ``exact`` or ``sounds_like``, and for the latter ``heard``, the
transcript's words that matched); ``--exact`` leaves sound-alike hits out;
``--json-page`` prints the page around that list: the ranking (``bm25``, or
``recent-first`` when only the newest matches were ranked) and the next cursor.
A page whose exact hits end short is topped up with the sound-alike ones that follow
(``search_filled``).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from html import unescape
from typing import Any

from efir.config import Settings
from efir.search.models import SearchPage
from efir.search.query import SearchQuery
from efir.search.searching import search_filled

__all__ = ["add_search_command", "page_as_json", "page_as_json_rows"]


def add_search_command(commands: Any) -> None:
    """Register `search` on the `efir` sub-command parsers."""
    parser = commands.add_parser("search", help="search the archive by Russian lemma")
    parser.add_argument("query", help='слова в любой форме, "фраза", -исключение, префикс*')
    parser.add_argument("--speaker", help="voice id or part of the on-screen caption")
    parser.add_argument("--role", help="anchor, correspondent, … or Ведущий, Корр, …")
    parser.add_argument("--from", dest="date_from", type=date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", type=date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--programme")
    parser.add_argument("--channel")
    parser.add_argument("--clip", dest="clip_id", help="one clip id")
    parser.add_argument("--limit", type=int, default=20, help="hits per page (default 20)")
    parser.add_argument("--cursor", help="the next-page cursor a previous search printed")
    parser.add_argument(
        "--exact",
        dest="fuzzy",
        action="store_false",
        help="only exact hits: no words that merely sound like the query's",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON list of hits")
    output.add_argument(
        "--json-page",
        action="store_true",
        help="one JSON object: the hits, ranking (bm25 | recent-first) and next cursor",
    )
    parser.set_defaults(command=run_search_command)


def page_as_json_rows(page: SearchPage) -> list[dict[str, Any]]:
    return [
        {
            "clip": hit.clip_id,
            "start": hit.start,
            "end": hit.end,
            "speaker": hit.speaker_caption or hit.speaker_id,
            "text": hit.text,
            "snippet": hit.snippet,
            "match": hit.match,
            **({"heard": hit.heard} if hit.match == "sounds_like" else {}),
        }
        for hit in page.hits
    ]


def page_as_json(page: SearchPage) -> dict[str, Any]:
    return {
        "query": page.query,
        "ranking": page.ranking,
        "hit_count": page.hit_count,
        "next_cursor": page.next_cursor,
        "hits": page_as_json_rows(page),
    }


def _plain(snippet: str) -> str:
    return unescape(snippet.replace("<mark>", "[").replace("</mark>", "]"))


def _print_page(page: SearchPage) -> None:
    if not page.clips:
        print("ничего не найдено")
    for group in page.clips:
        details = ", ".join(str(v) for v in (group.programme, group.channel, group.air_date) if v)
        print(f"{group.title or group.clip_id} ({details}) [{group.clip_id}]")
        for hit in group.hits:
            minutes, seconds = divmod(int(hit.start), 60)
            speaker = hit.speaker_caption or hit.speaker_id or "—"
            heard = f"  (похоже по звучанию: {hit.heard})" if hit.match == "sounds_like" else ""
            print(f"  {minutes:02d}:{seconds:02d}  {speaker}: {_plain(hit.snippet)}{heard}")
            print(f"         {hit.url}")
    if page.next_cursor:
        print(f"\nследующая страница: --cursor {page.next_cursor}")


def run_search_command(args: argparse.Namespace, settings: Settings) -> int:
    from efir.db import make_engine, make_session_factory, migrate

    query = SearchQuery(
        text=args.query,
        speaker=args.speaker,
        role=args.role,
        date_from=args.date_from,
        date_to=args.date_to,
        programme=args.programme,
        channel=args.channel,
        clip_id=args.clip_id,
        limit=args.limit,
        cursor=args.cursor,
        fuzzy=args.fuzzy,
    )
    migrate(settings.sqlalchemy_url)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with make_session_factory(engine)() as session:
            page = search_filled(session, query)
    finally:
        engine.dispose()
    if args.json or args.json_page:
        printed = page_as_json(page) if args.json_page else page_as_json_rows(page)
        json.dump(printed, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        _print_page(page)
    return 0
