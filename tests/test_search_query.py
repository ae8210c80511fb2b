"""Tokens, lemmas and the query language, without a database."""

from __future__ import annotations

import unicodedata

import pytest

from efir.search.highlight import Highlighter
from efir.search.indexing import lemmas_of
from efir.search.lemmas import index_candidates, query_lemmas, term_of, tokenize
from efir.search.query import Phrase, Prefix, SearchQuery, SearchQueryError, Word, parse_query


def test_tokens_keep_hyphenated_names_and_their_spans() -> None:
    text = "Памятник Абылай-хану, 2024 год — «Северо-Казахстанская» область."
    tokens = list(tokenize(text))
    assert [t.text for t in tokens] == [
        "Памятник", "Абылай-хану", "2024", "год", "Северо-Казахстанская", "область",
    ]  # fmt: skip
    assert all(text[t.start : t.end] == t.text for t in tokens)


def test_ambiguous_forms_index_every_lemma_in_one_term() -> None:
    assert index_candidates("стали") == {"сталь", "стать"}
    assert term_of("стали") == "сталь_стать"
    assert query_lemmas("стали") == {"сталь", "стать"}


def test_a_letter_unicode_cannot_name_is_searched_without_error() -> None:
    # pymorphy3's shape check raised ValueError on «𗫙» (Tangut, no name in Python 3.11's
    # unicodedata): a fuzzed search request was a server error.
    assert query_lemmas("𗫙") and index_candidates("𗫙и")
    assert parse_query("Костанай 𗫙")


def test_yo_is_folded_in_lemmas() -> None:
    assert term_of("Ёлку") == term_of("елку") == "елка"
    assert query_lemmas("ещё") == query_lemmas("еще") == {"еще"}


def test_hyphenated_word_is_found_by_its_parts() -> None:
    assert {"абылай-хан", "абылай", "хан"} <= index_candidates("Абылай-хана")
    assert query_lemmas("Абылай-хан") & index_candidates("Абылай-хану")


@pytest.mark.parametrize(
    ("adjective", "place"),
    [
        ("Костанайской", "костанай"),
        ("карагандинских", "караганда"),
        ("алматинского", "алматы"),
        ("российской", "россия"),
        ("московском", "москва"),
        ("павлодарскую", "павлодар"),
        ("астанинские", "астана"),
    ],
)
def test_place_adjectives_carry_their_place(adjective: str, place: str) -> None:
    assert place in index_candidates(adjective)


@pytest.mark.parametrize("adjective", ["советский", "новой", "экономических", "городской"])
def test_ordinary_adjectives_get_no_place(adjective: str) -> None:
    nouns = {"совет", "новь", "экономика", "город"}
    assert not index_candidates(adjective) & nouns


def test_query_language() -> None:
    parsed = parse_query(
        'Костанай "неправительственных организаций" -погода -"прогноз погоды" прав*'
    )
    assert parsed.required == (
        Word(frozenset({"костанай"})),
        Phrase((frozenset({"неправительственный"}), frozenset({"организация"}))),
        Prefix("прав"),
    )
    assert parsed.excluded == (
        Word(frozenset({"погода"})),
        Phrase((frozenset({"прогноз"}), frozenset({"погода"}))),
    )


def test_query_edge_cases() -> None:
    assert parse_query("  ,  ").required == ()
    assert parse_query('"незакрытая фраза').required == (
        Phrase((frozenset({"незакрытый"}), frozenset({"фраза"}))),
    )
    assert parse_query("Абылай-хан").required == (Word(frozenset({"абылай-хан", "абылай-хана"})),)
    decomposed = unicodedata.normalize("NFD", "Каражайский")
    assert parse_query(decomposed) == parse_query("Каражайский")
    with pytest.raises(SearchQueryError):
        parse_query("-только -исключения")
    with pytest.raises(SearchQueryError):
        parse_query("п*")
    with pytest.raises(SearchQueryError):
        SearchQuery("школа", limit=0)


@pytest.mark.parametrize(
    "typed",
    [
        "«международное сотрудничество»",
        "„международное сотрудничество“",
        "“международное сотрудничество”",
    ],
)
def test_russian_quotes_make_a_phrase_as_straight_ones_do(typed: str) -> None:
    straight = parse_query('"международное сотрудничество"')
    assert isinstance(straight.required[0], Phrase)
    assert parse_query(typed) == straight
    assert parse_query(f"-{typed} форум").excluded == straight.required


def test_query_errors_speak_both_languages_separately() -> None:
    with pytest.raises(SearchQueryError) as error:
        parse_query("-только -исключения")
    assert error.value.messages == {
        "ru": "Исключения (-слово) работают только вместе с искомыми словами.",
        "en": "Exclusions (-word) need a word to look for.",
    }


def test_snippet_marks_phrases_only_where_adjacent() -> None:
    phrase = (frozenset({"костанайский"}), frozenset({"область"}))
    highlighter = Highlighter(frozenset(), (phrase,))
    text = "Область решила: Костанайской области — <деньги>."
    # The segment's index terms, as stored beside its text.
    assert highlighter.snippet(text, lemmas_of(text).split(" ")) == (
        "Область решила: <mark>Костанайской</mark> <mark>области</mark> — &lt;деньги&gt;."
    )


def test_long_snippet_is_cut_around_the_first_match() -> None:
    text = ("Вступление без ключевых слов. " * 12) + "Здесь паводок в районе." + " Хвост." * 40
    snippet = Highlighter(frozenset({"паводок"})).snippet(text, lemmas_of(text).split(" "))
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "<mark>паводок</mark>" in snippet
    assert len(snippet) < 300
