"""Archive search by Russian lemma: segments in, ranked and highlighted hits out.

One interface, two backends picked from the session's dialect: SQLite FTS5 (the
embedded default) and PostgreSQL tsvector + GIN. Both index the same terms and
resolve queries the same way, so they find the same hits; scores differ in scale.
"""

from efir.search.indexing import index_transcript, remove_clip, update_clip_meta
from efir.search.models import ClipHits, ClipMeta, SearchHit, SearchPage
from efir.search.query import SearchQuery, SearchQueryError
from efir.search.schema import create_search_schema, drop_search_schema
from efir.search.searching import search

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
    "update_clip_meta",
]
