"""Shared search-test databases and corpus: a real SQLite file and a fresh PostgreSQL.

No tests here; test_search_*.py import the fixtures from this module.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session
from support.service_support import fresh_postgres_database

from efir.search import ClipMeta, create_search_schema, index_transcript
from efir.search.models import SearchPage
from efir.transcripts.model import Segment, Speaker, SpeakerRole, Transcript

BACKENDS = ("sqlite", "postgresql")


@contextmanager
def empty_database(backend: str, tmp_path: Path, name: str) -> Iterator[str]:
    """The URL of an empty database on the backend, named ``name`` on PostgreSQL."""
    if backend == "postgresql":
        with fresh_postgres_database(name) as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / f'{name}.sqlite3'}"


ANCHOR = Speaker("S0", role=SpeakerRole.ANCHOR)
CORRESPONDENT = Speaker("S1", role=SpeakerRole.CORRESPONDENT)
SPANOV = Speaker(
    "S2",
    "Ерлан СПАНОВ",
    "ЗАМЕСТИТЕЛЬ АКИМА КОСТАНАЙСКОЙ ОБЛАСТИ",
    SpeakerRole.INTERVIEWEE,
    "voice-spanov",
)
NUROVA = Speaker("S2", "Айгуль НУРОВА", "ДЕПУТАТ МАЖИЛИСА", SpeakerRole.INTERVIEWEE, "voice-nurova")

# clip id → (metadata, speakers, [(speaker id, text)])
CORPUS: dict[str, tuple[ClipMeta, tuple[Speaker, ...], list[tuple[str, str]]]] = {
    "clipa": (
        ClipMeta("clipa", "Итоги: посевная", "Итоги недели", "Хабар", date(2024, 3, 10)),
        (ANCHOR, CORRESPONDENT, SPANOV),
        [
            ("S0", "Добрый вечер. В Костанае прошло совещание по подготовке к посевной."),
            (
                "S1",
                "Представители неправительственных организаций Костанайской области "
                "встретились с акимом.",
            ),
            ("S2", "Мы построим в этом году восемь школ и три больницы."),
            ("S2", "Для детей откроют новые кружки, это решение принято."),
            ("S1", "Ещё десять лет назад здесь не было дорог."),
            ("S0", "Урожаем этого сезона аграрии довольны, зерна собрали больше."),
        ],
    ),
    "clipb": (
        ClipMeta("clipb", "Вечерние новости", "Новости", "КТК", date(2024, 6, 1)),
        (ANCHOR, CORRESPONDENT, NUROVA),
        [
            ("S0", "Президенту представили доклад о реформе."),
            ("S1", "Законопроект одобрен правительством и обсуждён депутатами."),
            ("S2", "Министров пригласили в Астане на заседание о выборах."),
            ("S1", "На открытии памятника Абылай-хану он сказал, что людей пришло много."),
            ("S0", "Казахстанских спортсменов встречали в алматинских аэропортах."),
        ],
    ),
    "clipc": (
        ClipMeta("clipc", "Утро", "Новости", "Хабар", None),
        (ANCHOR, CORRESPONDENT),
        [
            ("S0", "Воду подали в дома, колонна шла по затопленной дороге."),
            ("S1", "Закона о воде до сих пор нет, заявили в <министерстве> & ведомстве."),
            ("S0", "В Караганде погода лучше, чем вчера."),
            ("S1", "Ёлку установили на площади, строили её неделю."),
        ],
    ),
}

# Pagination fodder: one word in many forms across many segments.
SOWING_FORMS = ("посевная", "посевной", "посевную", "посевною", "посевные")
CORPUS["clipd"] = (
    ClipMeta("clipd", "Архив посевной", "Агро", "Хабар", date(2022, 4, 1)),
    (CORRESPONDENT,),
    [("S1", f"Сводка номер {n}: {SOWING_FORMS[n % 5]} кампания идёт по плану.") for n in range(25)],
)


def transcript_of(speakers: tuple[Speaker, ...], lines: list[tuple[str, str]]) -> Transcript:
    segments = tuple(
        Segment(i, 4.0 * i + 0.5, 4.0 * i + 4.0, line, speaker)
        for i, (speaker, line) in enumerate(lines)
    )
    return Transcript(4.0 * len(lines), "ru", "test", segments, speakers)


def index_corpus(engine: Engine) -> None:
    with Session(engine) as session:
        for clip, speakers, lines in CORPUS.values():
            index_transcript(session, clip, transcript_of(speakers, lines))
        session.commit()


def hit_keys(page: SearchPage) -> list[tuple[str, int]]:
    return [(hit.clip_id, hit.segment_id) for hit in page.hits]


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("search") / "search.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        create_search_schema(connection)
    index_corpus(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def search_postgres_url() -> Iterator[str]:
    """A fresh database made from the `test` one, dropped when the session ends."""
    with fresh_postgres_database(f"efir_search_{uuid.uuid4().hex[:10]}") as url:
        yield url


@pytest.fixture(scope="session")
def postgres_engine(search_postgres_url: str) -> Iterator[Engine]:
    engine = create_engine(search_postgres_url)
    with engine.begin() as connection:
        create_search_schema(connection)
    index_corpus(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Engine:
    name = {"sqlite": "sqlite_engine", "postgresql": "postgres_engine"}[request.param]
    fixture: Engine = request.getfixturevalue(name)
    return fixture
