"""Queries matching more segments than are ranked: the newest candidates, on both backends.

A fresh database per backend (the shared search corpus stays as other tests expect
it), filled with a few hundred generated segments, and a small ``max_ranked`` so the
capped path runs without a million rows.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session
from support.service_support import fresh_postgres_database
from test_search_support import CORRESPONDENT, hit_keys, transcript_of

from efir.search import ClipMeta, SearchHit, SearchQuery, create_search_schema, index_transcript
from efir.search.searching import search

MAX_RANKED = 40
CLIPS, SEGMENTS_PER_CLIP = 12, 30
PROGRAMMES = ("Новости", "Агро", "Итоги недели")
YEAR_FORMS = ("год", "года", "году", "годом", "годы")
FILLER = [
    "совещание",
    "прошло",
    "области",
    "урожай",
    "школа",
    "дорога",
    "вода",
    "закон",
    "депутат",
    "министр",
]

# (clip id, segment id) in indexing order, with programme and whether «год» occurs.
Row = tuple[str, int, str, bool]


def _corpus() -> tuple[list[tuple[ClipMeta, list[str]]], list[Row]]:
    r = random.Random(5)
    clips, rows = [], []
    for number in range(CLIPS):
        meta = ClipMeta(
            f"clip{number:02d}",
            f"Выпуск {number}",
            PROGRAMMES[number % len(PROGRAMMES)],
            "Хабар",
            date(2020, 1, 1) + timedelta(days=r.randint(0, 1500)),
        )
        lines = []
        for segment in range(SEGMENTS_PER_CLIP):
            words = r.sample(FILLER, r.randint(2, 8))
            has_year = r.random() < 0.7
            if has_year:  # repeated in some lines, so scores differ
                words += [r.choice(YEAR_FORMS)] * r.randint(1, 3)
                r.shuffle(words)
            lines.append(" ".join(words).capitalize() + ".")
            rows.append((meta.clip_id, segment, meta.programme or "", has_year))
        clips.append((meta, lines))
    return clips, rows


CLIP_LINES, ROWS = _corpus()


def _fill(engine: Engine) -> None:
    with engine.begin() as connection:
        create_search_schema(connection)
    with Session(engine) as session:
        for meta, lines in CLIP_LINES:
            lines_by_speaker = [(CORRESPONDENT.id, line) for line in lines]
            index_transcript(session, meta, transcript_of((CORRESPONDENT,), lines_by_speaker))
        session.commit()
    if engine.dialect.name == "postgresql":
        # Statistics let PostgreSQL walk ids for «год» (unfiltered); filtered queries
        # still go through the GIN index, so both of its candidate paths run here.
        with engine.begin() as connection:
            connection.execute(text("ANALYZE search_segments"))


@pytest.fixture(scope="module")
def sqlite_many(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("recent") / "recent.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    _fill(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def postgres_many() -> Iterator[Engine]:
    with fresh_postgres_database(f"efir_recent_{uuid.uuid4().hex[:10]}") as url:
        engine = create_engine(url)
        try:
            _fill(engine)
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def many(request: pytest.FixtureRequest) -> Engine:
    name = {"sqlite": "sqlite_many", "postgresql": "postgres_many"}[request.param]
    engine: Engine = request.getfixturevalue(name)
    return engine


def walk(
    engine: Engine, text: str, max_ranked: int, **filters: object
) -> tuple[list[SearchHit], set[str]]:
    """Every hit over all pages, and the ranking labels the pages carried."""
    hits: list[SearchHit] = []
    rankings: set[str] = set()
    lowest_score_so_far = float("inf")
    cursor = None
    with Session(engine) as session:
        while True:
            query = SearchQuery(text, limit=15, cursor=cursor, **filters)  # type: ignore[arg-type]
            page = search(session, query, max_ranked=max_ranked)
            hits += page.hits
            rankings.add(page.ranking)
            # Hits are grouped by clip within a page; across pages scores never rise.
            assert all(hit.score <= lowest_score_so_far for hit in page.hits)
            lowest_score_so_far = min([lowest_score_so_far, *(hit.score for hit in page.hits)])
            if page.next_cursor is None:
                return hits, rankings
            cursor = page.next_cursor


def keys_of(hits: list[SearchHit]) -> list[tuple[str, int]]:
    return [(hit.clip_id, hit.segment_id) for hit in hits]


def newest_matches(
    count: int, programme: str | None = None, clip: str | None = None
) -> list[tuple[str, int]]:
    matching = [
        (c, s)
        for c, s, prog, has in ROWS
        if has and programme in (None, prog) and clip in (None, c)
    ]
    return matching[-count:]


def test_a_common_word_ranks_only_the_newest_matches(many: Engine) -> None:
    assert len(newest_matches(len(ROWS))) > 2 * MAX_RANKED
    hits, rankings = walk(many, "год", MAX_RANKED)
    assert rankings == {"recent-first"}
    assert sorted(keys_of(hits)) == sorted(newest_matches(MAX_RANKED))
    assert len({hit.score for hit in hits}) > 1  # ranked by score, not merely listed by date


def test_filters_apply_before_the_cap(many: Engine) -> None:
    hits, rankings = walk(many, "годы", MAX_RANKED, programme="Агро")
    assert rankings == {"recent-first"}
    assert sorted(keys_of(hits)) == sorted(newest_matches(MAX_RANKED, "Агро"))


def test_below_the_cap_every_match_is_ranked(many: Engine) -> None:
    hits, rankings = walk(many, "год", max_ranked=len(ROWS))
    assert rankings == {"bm25"}
    assert sorted(keys_of(hits)) == sorted(newest_matches(len(ROWS)))
    with Session(many) as session:
        page = search(session, SearchQuery("год", limit=15))
        uncapped = search(session, SearchQuery("год", limit=15), max_ranked=len(ROWS))
    assert page.ranking == "bm25"
    assert hit_keys(page) == hit_keys(uncapped) == keys_of(hits[:15])


def test_backends_cap_to_identical_hits(sqlite_many: Engine, postgres_many: Engine) -> None:
    for query, filters in [("год", {}), ("год", {"programme": "Новости"}), ("вода", {})]:
        on_sqlite, _ = walk(sqlite_many, query, MAX_RANKED, **filters)
        on_postgres, _ = walk(postgres_many, query, MAX_RANKED, **filters)
        assert on_sqlite, (query, filters)
        assert sorted(keys_of(on_sqlite)) == sorted(keys_of(on_postgres)), (query, filters)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # Every segment is a correspondent's: on PostgreSQL a filter passing this
        # much is checked on the visited rows; SQLite looks each walked match up.
        ({"role": "Корр"}, newest_matches(5)),
        ({"programme": "Агро"}, newest_matches(5, "Агро")),
        # Thirty segments: SQLite probes the matches against the passing ids.
        ({"clip_id": "clip07"}, newest_matches(5, clip="clip07")),
        # The oldest clip: PostgreSQL's first id window finds nothing and widens.
        ({"clip_id": "clip00"}, newest_matches(5, clip="clip00")),
    ],
)
def test_each_filter_path_caps_to_the_newest_matches(
    many: Engine, filters: dict[str, str], expected: list[tuple[str, int]]
) -> None:
    hits, rankings = walk(many, "год", 5, **filters)
    assert rankings == {"recent-first"}
    assert sorted(keys_of(hits)) == sorted(expected)
