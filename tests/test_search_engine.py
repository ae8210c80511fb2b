"""Archive search on both backends: inflections, phrases, exclusions, filters, paging, edits."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from test_search_support import CORPUS, hit_keys, transcript_of

from efir.search import (
    ClipMeta,
    SearchPage,
    SearchQuery,
    SearchQueryError,
    index_transcript,
    remove_clip,
    search,
    update_clip_meta,
)
from efir.search.searching import speaker_keys_containing
from efir.transcripts.model import Speaker

pytest_plugins = ["test_search_support"]

# (query, clip, segment, the inflected form that must be found and highlighted)
INFLECTIONS = [
    ("Костанай", "clipa", 0, "Костанае"),
    ("Костанай", "clipa", 1, "Костанайской"),
    ("неправительственная организация", "clipa", 1, "неправительственных"),
    ("неправительственная организация", "clipa", 1, "организаций"),
    ("аким", "clipa", 1, "акимом"),
    ("посевная", "clipa", 0, "посевной"),
    ("школа", "clipa", 2, "школ"),
    ("год", "clipa", 2, "году"),
    ("ребёнок", "clipa", 3, "детей"),
    ("еще", "clipa", 4, "Ещё"),
    ("дорога", "clipa", 4, "дорог"),
    ("урожай", "clipa", 5, "Урожаем"),
    ("зерно", "clipa", 5, "зерна"),
    ("президент", "clipb", 0, "Президенту"),
    ("правительство", "clipb", 1, "правительством"),
    ("депутат", "clipb", 1, "депутатами"),
    ("министр", "clipb", 2, "Министров"),
    ("Астана", "clipb", 2, "Астане"),
    ("выборы", "clipb", 2, "выборах"),
    ("Абылай-хан", "clipb", 3, "Абылай-хану"),
    ("сказать", "clipb", 3, "сказал"),
    ("человек", "clipb", 3, "людей"),
    ("Казахстан", "clipb", 4, "Казахстанских"),
    ("Алматы", "clipb", 4, "алматинских"),
    ("вода", "clipc", 0, "Воду"),
    ("идти", "clipc", 0, "шла"),
    ("закон", "clipc", 1, "Закона"),
    ("хороший", "clipc", 2, "лучше"),
    ("елка", "clipc", 3, "Ёлку"),
    ("строить", "clipc", 3, "строили"),
]


def run(engine: Engine, text: str = "", **filters: object) -> SearchPage:
    with Session(engine) as session:
        return search(session, SearchQuery(text, **filters))  # type: ignore[arg-type]


def all_hits(engine: Engine, text: str, **filters: object) -> list[tuple[str, int]]:
    return hit_keys(run(engine, text, limit=100, **filters))


@pytest.mark.parametrize(("query", "clip_id", "segment_id", "form"), INFLECTIONS)
def test_inflected_form_is_found_and_marked(
    engine: Engine, query: str, clip_id: str, segment_id: int, form: str
) -> None:
    page = run(engine, query, limit=100)
    hit = next(h for h in page.hits if (h.clip_id, h.segment_id) == (clip_id, segment_id))
    assert f"<mark>{form}</mark>" in hit.snippet


def test_backends_find_identical_hits(sqlite_engine: Engine, postgres_engine: Engine) -> None:
    queries = [
        *sorted({q for q, *_ in INFLECTIONS}),
        '"Костанайской области"',
        "Костанай -акимом",
        "правительств*",
        "кампания",
        "в",
    ]
    for query in queries:
        on_sqlite = all_hits(sqlite_engine, query)
        assert on_sqlite, query
        assert sorted(on_sqlite) == sorted(all_hits(postgres_engine, query)), query


def test_place_does_not_match_other_places(engine: Engine) -> None:
    assert ("clipc", 2) not in all_hits(engine, "Костанай")
    assert all_hits(engine, "Караганда") == [("clipc", 2)]


def test_adjective_query_finds_the_adjective_not_the_bare_city(engine: Engine) -> None:
    # Documented choice: the city→region link is one way, from the place to its adjective.
    hits = all_hits(engine, "костанайская")
    assert ("clipa", 1) in hits
    assert ("clipa", 0) not in hits


def test_yo_and_ye_are_one_letter(engine: Engine) -> None:
    assert all_hits(engine, "ёлка") == all_hits(engine, "елка") == [("clipc", 3)]
    assert all_hits(engine, "обсужден") == all_hits(engine, "обсуждён") == [("clipb", 1)]


def test_exact_phrase_needs_adjacent_lemmas_in_order(engine: Engine) -> None:
    assert all_hits(engine, '"Костанайская область"') == [("clipa", 1)]
    assert all_hits(engine, '"неправительственная организация"') == [("clipa", 1)]
    assert all_hits(engine, '"область костанайская"') == []
    assert all_hits(engine, '"неправительственная область"') == []
    page = run(engine, '"костанайская область"')
    assert "<mark>Костанайской</mark> <mark>области</mark>" in page.hits[0].snippet


def test_exclusion_drops_segments_with_the_word(engine: Engine) -> None:
    assert sorted(all_hits(engine, "Костанай")) == [("clipa", 0), ("clipa", 1)]
    assert all_hits(engine, "Костанай -аким") == [("clipa", 0)]
    assert all_hits(engine, 'Костанай -"неправительственная организация"') == [("clipa", 0)]
    assert all_hits(engine, "Костанай -несуществующееслово") != []
    with pytest.raises(SearchQueryError):
        run(engine, "-аким")


def test_prefix_matches_lemmas_starting_with_it(engine: Engine) -> None:
    assert all_hits(engine, "законопроект*") == [("clipb", 1)]
    assert ("clipb", 1) in all_hits(engine, "правительств*")
    assert "<mark>правительством</mark>" in run(engine, "правительств*").hits[0].snippet
    with pytest.raises(SearchQueryError):
        run(engine, "з*")


def test_unknown_word_finds_nothing(engine: Engine) -> None:
    page = run(engine, "Костанай пингвин")
    assert page.hits == [] and page.next_cursor is None


def test_speaker_filter_by_caption_substring_or_voice_id(engine: Engine) -> None:
    by_name = all_hits(engine, "", speaker="спанов", clip_id="clipa")
    assert sorted(by_name) == [("clipa", 2), ("clipa", 3)]
    assert sorted(all_hits(engine, "", speaker="voice-spanov")) == sorted(by_name)
    assert all_hits(engine, "школа", speaker="Нурова") == []
    assert all_hits(engine, "министр", speaker="ДЕПУТАТ мажилиса") == [("clipb", 2)]


def test_speaker_filter_keeps_quotes_and_backslashes_of_a_caption(engine: Engine) -> None:
    meta = ClipMeta("clipquote", "Кавычки", "Тест", "Тест", date(2020, 1, 1))
    speaker = Speaker("S2", 'Марат "Ак\\Жол" БЕКОВ', 'ДИРЕКТОР ТОО "ЗЕРНО"')
    with Session(engine) as session:
        index_transcript(session, meta, transcript_of((speaker,), [("S2", "Зерно вывезли.")]))
        session.commit()
        try:
            for fragment in ('"ак\\жол"', 'тоо "зерно"', "беков"):
                hits = search(session, SearchQuery("вывезти", speaker=fragment)).hits
                assert [(hit.clip_id, hit.segment_id) for hit in hits] == [("clipquote", 0)]
        finally:
            remove_clip(session, "clipquote")
            session.commit()


def test_a_speaker_substring_is_looked_up_through_the_trigram_index(
    postgres_engine: Engine,
) -> None:
    # PostgreSQL only: SQLite scans its few thousand keys in-process.
    lookup = speaker_keys_containing('Ак\\Жол" Б_%').compile(postgres_engine)
    with postgres_engine.connect() as connection:
        # Too few keys for the planner to prefer the index on its own: forbid the scan.
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        plan = connection.exec_driver_sql(f"EXPLAIN {lookup}", lookup.params).scalars().all()
    assert any("ix_search_speakers_key_trgm" in line for line in plan), plan


def test_role_filter_accepts_value_or_russian_label(engine: Engine) -> None:
    corr = all_hits(engine, "Костанай", role="Корр")
    assert corr == all_hits(engine, "Костанай", role="correspondent") == [("clipa", 1)]
    assert all_hits(engine, "Костанай", role="Ведущий") == [("clipa", 0)]
    with pytest.raises(SearchQueryError):
        run(engine, "Костанай", role="оператор")


def test_date_programme_channel_and_clip_filters(engine: Engine) -> None:
    spring = {"date_from": date(2024, 3, 1), "date_to": date(2024, 3, 31)}
    assert {c for c, _ in all_hits(engine, "в", **spring)} == {"clipa"}
    assert {c for c, _ in all_hits(engine, "в", date_from=date(2024, 5, 1))} == {"clipb"}
    assert {c for c, _ in all_hits(engine, "в", programme="Новости")} == {"clipb", "clipc"}
    assert {c for c, _ in all_hits(engine, "", channel="Хабар")} == {"clipa", "clipc", "clipd"}
    assert {c for c, _ in all_hits(engine, "в", clip_id="clipc")} == {"clipc"}
    with pytest.raises(SearchQueryError):
        run(engine, "в", date_from=date(2024, 5, 1), date_to=date(2024, 1, 1))


def test_pagination_walks_every_hit_once(engine: Engine) -> None:
    seen: list[tuple[str, int]] = []
    cursor = None
    for _ in range(10):
        page = run(engine, "посевная", limit=7, cursor=cursor)
        seen += hit_keys(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 26  # 25 reports + the anchor's «посевной»
    assert all_hits(engine, "посевная") == seen
    with pytest.raises(SearchQueryError):
        run(engine, "школа", cursor=run(engine, "посевная", limit=7).next_cursor)


def test_hits_are_grouped_by_clip_with_links(engine: Engine) -> None:
    page = run(engine, "Костанай")
    (group,) = page.clips
    assert (group.clip_id, group.programme, group.air_date) == (
        "clipa",
        "Итоги недели",
        date(2024, 3, 10),
    )
    hit = next(h for h in group.hits if h.segment_id == 1)
    assert hit.start == 4.5
    assert hit.url == "/clips/clipa?t=4.5"
    assert hit.media_url == "/api/v1/clips/clipa/media#t=4.5"
    assert hit.speaker_caption == "Корр"


def test_snippet_escapes_html(engine: Engine) -> None:
    (hit,) = run(engine, "министерство").hits
    assert "&lt;<mark>министерстве</mark>&gt; &amp; ведомстве" in hit.snippet


def test_a_word_repeated_in_a_short_segment_ranks_first(engine: Engine) -> None:
    meta = ClipMeta("cliprank", "Ранжирование", "Тест", "Тест", date(2020, 1, 1))
    lines = [
        ("S1", "Паводок: сводка по региону и соседним областям, работают спасатели."),
        ("S1", "Паводок, паводок!"),
    ]
    with Session(engine) as session:
        index_transcript(session, meta, transcript_of(CORPUS["clipa"][1], lines))
        session.commit()
        try:
            page = search(session, SearchQuery("паводок"))
            best = max(page.hits, key=lambda hit: hit.score)
            assert (best.clip_id, best.segment_id) == ("cliprank", 1)
            # Inside the clip the hits read in time order, whatever their rank.
            ours = [hit.start for hit in page.hits if hit.clip_id == "cliprank"]
            assert ours == sorted(ours) and len(ours) == 2
        finally:
            remove_clip(session, "cliprank")
            session.commit()


def test_reindex_after_edit_and_rename(engine: Engine) -> None:
    meta = ClipMeta("clipedit", "Правка", "Тест", "Тест", date(2020, 1, 1))
    speaker = Speaker("S2", "Асхат ЖУМАБЕКОВ", "ФЕРМЕР")
    with Session(engine) as session:
        index_transcript(session, meta, transcript_of((speaker,), [("S2", "Пшеницу убрали.")]))
        session.commit()
        assert hit_keys(search(session, SearchQuery("пшеница"))) == [("clipedit", 0)]

        renamed = Speaker("S2", "Асхат ЖУМАБАЕВ", "ФЕРМЕР")
        edited = transcript_of((renamed,), [("S2", "Ячмень убрали.")])
        index_transcript(session, meta, edited)
        session.commit()
        try:
            assert search(session, SearchQuery("пшеница")).hits == []
            assert hit_keys(search(session, SearchQuery("ячмень"))) == [("clipedit", 0)]
            assert search(session, SearchQuery("убрать", speaker="жумабеков")).hits == []
            assert len(search(session, SearchQuery("убрать", speaker="жумабаев")).hits) == 1
        finally:
            remove_clip(session, "clipedit")
            session.commit()
        assert search(session, SearchQuery("ячмень")).hits == []


def test_clip_metadata_edit_reaches_the_filters(engine: Engine) -> None:
    meta = ClipMeta("clipmeta", "Черновик", "Тест", "Тест", date(2020, 1, 1))
    speakers, lines = CORPUS["clipa"][1], [("S1", "Сенокос начался.")]
    with Session(engine) as session:
        index_transcript(session, meta, transcript_of(speakers, lines))
        update_clip_meta(session, ClipMeta("clipmeta", "Итог", "Агро", "КТК", date(2021, 7, 1)))
        session.commit()
        try:
            moved = SearchQuery("сенокос", programme="Агро", date_from=date(2021, 1, 1))
            (group,) = search(session, moved).clips
            assert (group.title, group.channel, group.air_date) == ("Итог", "КТК", date(2021, 7, 1))
            assert search(session, SearchQuery("сенокос", programme="Тест")).hits == []
        finally:
            remove_clip(session, "clipmeta")
            session.commit()
