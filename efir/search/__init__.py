"""Archive search by Russian lemma: segments in, ranked and highlighted hits out.

One interface, two backends picked from the session's dialect: SQLite FTS5 (the
embedded default) and PostgreSQL tsvector + GIN. Both index the same terms and
resolve queries the same way, so they find the same hits. Ranking is each
engine's own: FTS5 bm25() and PostgreSQL ts_rank_cd (length-normalised), so
scores differ in scale and near-ties may order differently; exact ties fall back
to (air date newest first, clip, start) on both.

Callers: ``index_transcript`` inside the transaction that saves each revision
(edits and speaker renames included), ``update_clip_meta`` when a clip's title,
programme, channel or air date changes, ``remove_clip`` when a clip is deleted.

Cost: at most the newest 1,000 matches of a query (after its filters) are scored
before the page is cut, so a word found in a large share of the archive costs no
more than a rare one; such pages carry ``ranking="recent-first"`` (see
``efir.search.searching`` and bench/search_bench.py).

Words the recogniser misheard are found too, on the pages after the exact hits
(``search_filled`` joins the two for one full page): a query word
also matches indexed forms that sound alike (``efir.search.fuzzy``); such hits say
``match="sounds_like"`` and which transcript words matched. ``fuzzy=False`` on
the query leaves them out.
"""

from efir.search.indexing import index_transcript, remove_clip, update_clip_meta
from efir.search.models import ClipHits, ClipMeta, SearchHit, SearchPage
from efir.search.query import SearchQuery, SearchQueryError
from efir.search.schema import create_search_schema, drop_search_schema
from efir.search.searching import search, search_filled

__all__ = [
    "ClipHits",
    "ClipMeta",
    "SearchHit",
    "SearchPage",
    "SearchQuery",
    "SearchQueryError",
    "create_search_schema",
    "drop_search_schema",
    "index_transcript",
    "remove_clip",
    "search",
    "search_filled",
    "update_clip_meta",
]
