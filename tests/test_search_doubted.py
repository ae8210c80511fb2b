"""Real words the recogniser doubted (efir.search.heard.DOUBT_MARK): indexed with a mark,
taken for a near query word only there, unmarked once an editor corrects them; and
migrations 0018 and 0020, which mark an archive indexed before them. Both backends."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from support.sounds_like_sets import DEVELOPMENT, TEST, asr_transcript
from test_search_support import BACKENDS, empty_database

from efir.db import MIGRATIONS_DIR, Clip, make_engine, migrate, new_id
from efir.search import ClipMeta, SearchQuery, create_search_schema, index_transcript, search_filled
from efir.search.fuzzy import deletions, expand, stored_variants
from efir.search.heard import DOUBT_MARK, doubted, indexed_terms
from efir.search.indexing import (
    forms_of,
    lemmas_of,
    relemmatise,
    remove_clip,
    token_evidence,
)
from efir.search.lemmas import TERM_JOINER, normalise, query_lemmas, term_of, words
from efir.search.phonetic import phonetic_key
from efir.search.schema import search_segments, search_vocab
from efir.transcripts.edits import SetText, apply_edits
from efir.transcripts.model import Segment, Speaker, Transcript, Word
from efir.transcripts.revisions import save_revision

UNSURE, SURE = 0.5, 0.97


def _segment(id_: int, text: str, unsure: set[str]) -> Segment:
    """A segment timed word by word as Whisper gives it (a space before each word),
    the ``unsure`` words with a low probability."""
    tokens = text.split()
    timed = tuple(
        Word(id_ * 10 + i, id_ * 10 + i + 0.5, f" {token}", UNSURE if token in unsure else SURE)
        for i, token in enumerate(tokens)
    )
    return Segment(id_, timed[0].start, timed[-1].end, text, "S1", timed)


def _transcript(*segments: Segment) -> Transcript:
    return Transcript(segments[-1].end, "ru", "test", segments, (Speaker("S1"),))


# --- units ---------------------------------------------------------------------------


def test_each_word_of_the_text_gets_the_probability_of_its_timed_words() -> None:
    segment = _segment(0, "Гости подивились, талая Тала-Дэва.", {"подивились,"})
    # Whisper's «Тала» and «-Дэва» are one word of the text: the less sure of the two.
    split = (*segment.words[:3], Word(2, 2.2, " Тала", 0.9), Word(2.2, 2.5, "-Дэва.", 0.3))
    assert token_evidence(segment, segment.text).probabilities == [SURE, UNSURE, SURE, SURE]
    split_segment = Segment(0, 0, 3, segment.text, "S1", split)
    assert token_evidence(split_segment, segment.text).probabilities == [
        SURE,
        UNSURE,
        SURE,
        0.3,
    ]
    # An editor's new word no timed word spells counts as sure; no timed words: none.
    edited = token_evidence(segment, "Гости поделились, талая Тала-Дэва.")
    assert edited.probabilities[1] == 1.0
    assert token_evidence(Segment(0, 0, 1, "Слово", "S1"), "Слово").probabilities == []


def test_only_doubted_real_words_of_a_long_enough_key_carry_the_mark() -> None:
    assert doubted("подивились", UNSURE)
    assert not doubted("подивились", SURE)
    assert not doubted("Бильгей", UNSURE)  # a non-word matches by sound anyway
    assert not doubted("дом", UNSURE)  # a short key matches no other word
    tokens = words("Гости подивились проекту")
    terms = indexed_terms(tokens, [SURE, UNSURE, SURE])
    assert terms[1].split(TERM_JOINER) == sorted([DOUBT_MARK, *term_of("подивились").split("_")])
    assert [terms[0], terms[2]] == [term_of("Гости"), term_of("проекту")]
    assert indexed_terms(tokens) == [term_of(token) for token in tokens]


def test_a_segment_without_words_is_indexed() -> None:
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        create_search_schema(connection)
    with Session(engine) as session:
        music = Segment(0, 0.0, 1.0, "♪ …", "S1", (Word(0.0, 1.0, " ♪ …", UNSURE),))
        index_transcript(
            session, ClipMeta("music"), _transcript(music, _segment(1, "Слово", set()))
        )
        assert [h.segment_id for h in search_filled(session, SearchQuery("слово")).hits] == [1]
    engine.dispose()


@pytest.mark.parametrize("name", DEVELOPMENT + TEST)
def test_indexing_reads_each_text_once_into_what_each_part_derives(name: str) -> None:
    # The one pass over a segment's words (efir.search.indexing._indexed_text) stores
    # what the per-column functions give, on the fixtures' real ASR with its doubts and
    # the alternatives its beam heard.
    transcript = asr_transcript(name)
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        create_search_schema(connection)
    with Session(engine) as session:
        index_transcript(session, ClipMeta(name), transcript)
        columns = select(search_segments.c.segment_id, search_segments.c.lemmas)
        stored = {row.segment_id: row.lemmas for row in session.execute(columns)}
        vocab = {row.form: (row.term, row.doubted) for row in session.execute(select(search_vocab))}
    engine.dispose()
    texts = {s.id: (s, unicodedata.normalize("NFC", s.text)) for s in transcript.segments}
    lemmas = {i: lemmas_of(text, *token_evidence(s, text)) for i, (s, text) in texts.items()}
    assert stored == lemmas
    doubted = {
        normalise(word)
        for i, (_, text) in texts.items()
        for word, term in zip(words(text), lemmas[i].split(" "), strict=True)
        if DOUBT_MARK in term.split(TERM_JOINER)
    }
    forms = {normalise(word): term for word, term in forms_of(t for _, t in texts.values())}
    assert doubted and vocab == {form: (term, form in doubted) for form, term in forms.items()}


def test_a_doubted_dictionary_word_stores_the_variants_of_a_non_word() -> None:
    key = phonetic_key("подивились")
    assert stored_variants("подивились", key) == {key}
    assert stored_variants("подивились", key, doubted=True) == deletions(key, 1)


@pytest.fixture
def indexed() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        create_search_schema(connection)
    with Session(engine) as session:
        transcript = _transcript(
            # Spellings of one sound key: a non-word, a dictionary word.
            _segment(0, "Ризонный вопрос, резаный хлеб.", set()),
            _segment(1, "Гости подивились. На торах.", {"подивились.", "торах."}),
            _segment(2, "Мешки и списку. Он заявляетесь.", {"списку.", "заявляетесь."}),
        )
        index_transcript(session, ClipMeta("doubted"), transcript)
        yield session
    engine.dispose()


def test_spellings_that_tie_on_sound_rank_by_their_letters(indexed: Session) -> None:
    expansion = expand(indexed, query_lemmas("резонный"), (), "резонный")
    assert expansion.terms[:2] == (term_of("ризонный"), term_of("резаный"))
    assert expansion.closeness[term_of("ризонный")] < expansion.closeness[term_of("резаный")]


@pytest.mark.parametrize(
    ("query", "heard", "taken"),
    [
        ("поделились", "подивились", True),  # a long key: one consonant off
        ("песок", "списку", True),  # «(с) песку»: its first letter from the word before
        ("тонна", "торах", False),  # «тоннах»: a consonant inside a short key
        ("заявлять", "заявляетесь", False),  # the same verb in another voice
    ],
)
def test_a_doubted_word_may_stand_for_a_near_query_word(
    indexed: Session, query: str, heard: str, taken: bool
) -> None:
    terms = expand(indexed, query_lemmas(query), ()).terms
    marked = TERM_JOINER.join(sorted([DOUBT_MARK, *term_of(heard).split(TERM_JOINER)]))
    assert (marked in terms) is taken
    # Never the plain term: where the recogniser was sure, it is another word.
    assert term_of(heard) not in terms


# --- end to end ----------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_doubted_word_is_found_by_sound_until_an_editor_corrects_it(
    backend: str, tmp_path: Path
) -> None:
    heard = _transcript(
        _segment(0, "Гости подивились новому проекту.", {"подивились"}),
        _segment(1, "Дети смотрели на чудо.", set()),
    )
    with empty_database(backend, tmp_path, "efir_doubted_test") as url:
        engine = create_engine(url)
        with engine.begin() as connection:
            create_search_schema(connection)
        with Session(engine) as session:
            index_transcript(session, ClipMeta("guests"), heard)
            hits = search_filled(session, SearchQuery("поделились")).hits
            assert [(h.segment_id, h.match, h.heard) for h in hits] == [
                (0, "sounds_like", "подивились")
            ]
            assert "<mark>подивились</mark>" in hits[0].snippet
            assert not search_filled(session, SearchQuery("поделились", fuzzy=False)).hits
            # The written word is still found exactly.
            written = search_filled(session, SearchQuery("подивиться", fuzzy=False)).hits
            assert [h.segment_id for h in written] == [0]
            # Once the archive holds the word where the recogniser was sure of it, it is
            # a word of the archive's own: its doubted places are taken for it too.
            sure = _transcript(_segment(0, "Дети подивились чуду.", set()))
            index_transcript(session, ClipMeta("children"), sure)
            assert not search_filled(session, SearchQuery("поделились")).hits
            remove_clip(session, "children")
            # An editor's correction is a sure word: found exactly, by sound no more.
            corrected = apply_edits(heard, [SetText(0, "Гости поделились новому проекту.")])
            index_transcript(session, ClipMeta("guests"), corrected)
            again = search_filled(session, SearchQuery("поделились")).hits
            assert [(h.segment_id, h.match) for h in again] == [(0, "exact")]
        engine.dispose()


def _alembic(url: str, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    getattr(command, action)(config, revision)


@pytest.mark.parametrize(
    ("text", "unsure", "query", "before"),
    [
        ("Гости подивились проекту.", {"подивились"}, "поделились", "0017"),  # 0018: doubts
        ("Мы продаем на прямую без посредников.", set(), "напрямую", "0019"),  # 0020: joins
    ],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_migration_adds_what_an_archive_indexed_before_it_lacks(
    backend: str, tmp_path: Path, text: str, unsure: set[str], query: str, before: str
) -> None:
    with empty_database(backend, tmp_path, "efir_doubted_test") as url:
        migrate(url)
        engine = make_engine(url)
        with Session(engine) as session:
            clip = Clip(
                id=new_id(),
                sha256="0" * 64,
                original_filename="guests.mp4",
                media_key="none",
                size_bytes=1,
                title="Гости",
            )
            session.add(clip)
            session.flush()
            save_revision(
                session, clip_id=clip.id, transcript=_transcript(_segment(0, text, unsure))
            )
            session.commit()

        def found() -> list[str]:
            with Session(engine) as session:
                return [h.match for h in search_filled(session, SearchQuery(query)).hits]

        assert found() == ["sounds_like"]
        _alembic(url, "downgrade", before)
        with Session(engine) as session:  # as indexed then: the written words' terms only
            relemmatise(session, lambda text: " ".join(map(term_of, words(text))))
            session.commit()
        assert found() == []
        _alembic(url, "upgrade", "head")
        assert found() == ["sounds_like"]
        engine.dispose()
