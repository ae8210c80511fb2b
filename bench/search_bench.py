"""Search benchmark: fill SQLite and/or PostgreSQL with synthetic news, time indexing and queries.

    .venv/bin/python bench/search_bench.py --size 1000000 --backend both

Prints the index build rate (segments/s through efir.search.index_transcript,
lemmatisation and the sound-alike vocabulary included) and the latency p50/p95 of
top-20 searches for single words, exact phrases, filtered queries and misheard
words (a word of the text with one vowel swapped, as a recogniser slips: found
only through «похоже по звучанию»). Each class runs interleaved as ``search``
(one page: the exact hits, or the sound-alike ones when there are none), with
``fuzzy=False`` (the exact path alone, as before sound-alikes existed) and as
``search_filled`` (the page topped up with sound-alike hits where the exact ones
end short: what the CLI and web UI show). The PostgreSQL database is created
fresh from the admin URL, VACUUM ANALYZEd after the build (as autovacuum leaves a
live archive) and dropped afterwards unless --keep is given. Build once with
--keep / --sqlite-path, then time queries with --reuse; the 1,000,000-segment
runs are kept in bench/results/search_1m.txt.

The text carries no word probabilities unless --word-probabilities is given: then
each word gets one drawn from the fixtures' real ASR (fixtures/**/*.asr.json, most
of it heard right), so about a quarter of the real words are indexed as doubted
(efir.search.heard) and their sound-alike accidents can be counted at scale
(bench/search_sound_alike_scale.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from news_text import CITIES, CORE_NOUNS, CORE_VERBS, PROGRAMMES, SURNAMES, NewsWriter

from efir.search import (
    SearchPage,
    SearchQuery,
    create_search_schema,
    index_transcript,
    search,
    search_filled,
)
from efir.transcripts.model import Transcript, Word

SEGMENTS_PER_CLIP = 50
CLIPS_PER_COMMIT = 20
TOP_N = 20


@contextmanager
def sqlite_engine(path: Path | None, *, fresh: bool) -> Iterator[Engine]:
    with tempfile.TemporaryDirectory(prefix="efir-search-bench-") as scratch:
        database = path or Path(scratch) / "bench.sqlite3"
        if fresh:
            database.unlink(missing_ok=True)
        engine = create_engine(f"sqlite:///{database}")
        with engine.begin() as connection:
            connection.execute(text("PRAGMA journal_mode=WAL"))
        yield engine
        engine.dispose()


@contextmanager
def postgres_engine(admin_url: str, keep: bool, existing: str | None) -> Iterator[Engine]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = existing or f"efir_search_bench_{uuid.uuid4().hex[:8]}"
    if not existing:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(make_url(admin_url).set(database=name))
    try:
        yield engine
    finally:
        engine.dispose()
        if keep or existing:
            print(f"  kept PostgreSQL database {name}")
        else:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _fixture_probabilities() -> list[float]:
    """Every word probability of the fixtures' real ASR transcripts."""
    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    return [
        word["probability"]
        for path in sorted(fixtures.glob("**/*.asr.json"))
        for segment in json.loads(path.read_text("utf-8"))["segments"]
        for word in segment["words"]
    ]


def _heard_with(transcript: Transcript, probabilities: list[float], r: random.Random) -> Transcript:
    """The transcript with a timed word per token, each with a drawn probability."""
    return replace(
        transcript,
        segments=tuple(
            replace(
                segment,
                words=tuple(
                    Word(segment.start, segment.end, f" {token}", r.choice(probabilities))
                    for token in segment.text.split()
                ),
            )
            for segment in transcript.segments
        ),
    )


def build(engine: Engine, size: int, seed: int, *, word_probabilities: bool = False) -> NewsWriter:
    with engine.begin() as connection:
        create_search_schema(connection)
    writer = NewsWriter(seed)
    probabilities = _fixture_probabilities() if word_probabilities else []
    drawn = random.Random(seed)
    clips = max(1, size // SEGMENTS_PER_CLIP)
    indexing_s = indexing_cpu_s = 0.0
    report_every = max(1, clips // 10)
    with Session(engine) as session:
        for number in range(clips):
            clip, transcript = writer.clip(number, SEGMENTS_PER_CLIP)
            if probabilities:
                transcript = _heard_with(transcript, probabilities, drawn)
            started, started_cpu = time.perf_counter(), time.process_time()
            index_transcript(session, clip, transcript)
            if (number + 1) % CLIPS_PER_COMMIT == 0 or number + 1 == clips:
                session.commit()
            indexing_s += time.perf_counter() - started
            indexing_cpu_s += time.process_time() - started_cpu
            if (number + 1) % report_every == 0:
                done = (number + 1) * SEGMENTS_PER_CLIP
                print(f"  {done:>9,} segments, {done / indexing_s:,.0f} segments/s", flush=True)
    segments = clips * SEGMENTS_PER_CLIP
    print(
        f"  index build: {segments:,} segments in {indexing_s:,.1f} s = "
        f"{segments / indexing_s:,.0f} segments/s; this process's CPU "
        f"{segments / indexing_cpu_s:,.0f} segments/s"
    )
    started = time.perf_counter()
    # What autovacuum leaves after a day of indexing: statistics, the GIN pending
    # list merged, every BRIN range summarised, the visibility map set.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("VACUUM ANALYZE"))
        else:
            connection.execute(
                text("INSERT INTO search_segments_fts(search_segments_fts) VALUES ('optimize')")
            )
            connection.execute(text("ANALYZE"))
    print(f"  optimise/analyse: {time.perf_counter() - started:,.1f} s")
    print(f"  index size: {_index_megabytes(engine):,.0f} MB")
    return writer


def _index_megabytes(engine: Engine) -> float:
    """The search tables with their indexes (PostgreSQL), or the whole file (SQLite)."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            size = connection.scalar(
                text(
                    "SELECT sum(pg_total_relation_size(oid)) FROM pg_class"
                    " WHERE relkind = 'r' AND relname LIKE 'search%'"
                )
            )
        else:
            pages = connection.scalar(text("PRAGMA page_count"))
            size = pages * connection.scalar(text("PRAGMA page_size"))
    return float(size or 0) / 1e6


def replay(seed: int) -> NewsWriter:
    """The writer's state after the first clips of a build: enough to draw queries from."""
    writer = NewsWriter(seed)
    for number in range(200):
        writer.clip(number, SEGMENTS_PER_CLIP)
    return writer


def query_sets(writer: NewsWriter, count: int, seed: int) -> dict[str, list[SearchQuery]]:
    """Common words (the head of the news vocabulary: the worst case for ranking, since
    every match is scored), rare words, phrases seen in the text, and filtered words."""
    r = random.Random(seed)
    head = CORE_NOUNS[:40] + CORE_VERBS[:10] + [c.lower() for c in CITIES]
    common = [r.choice(head) for _ in range(count // 2)]
    rare = [r.choice(writer.tail_seen) for _ in range(count - len(common))]
    phrases = [f'"{r.choice(writer.phrases_seen)}"' for _ in range(count)]
    misheard = [
        SearchQuery(_misheard(r.choice(writer.tail_seen), r), limit=TOP_N) for _ in range(count)
    ]
    filtered = []
    for word in r.sample(common + rare, count):
        year = r.randint(2015, 2025)
        filters = r.choice(
            [
                {
                    "programme": r.choice(PROGRAMMES),
                    "date_from": date(year, 1, 1),
                    "date_to": date(year, 12, 31),
                },
                {"speaker": r.choice(SURNAMES).lower()},
                {"role": "Корр", "date_from": date(year, 1, 1)},
            ]
        )
        filtered.append(SearchQuery(word, limit=TOP_N, **filters))  # type: ignore[arg-type]
    return {
        "common words": [SearchQuery(w, limit=TOP_N) for w in common],
        "rare words": [SearchQuery(w, limit=TOP_N) for w in rare],
        "phrases": [SearchQuery(p, limit=TOP_N) for p in phrases],
        "filtered": filtered,
        "misheard": misheard,
    }


_VOWEL_SLIPS = {"о": "а", "а": "о", "е": "и", "и": "е", "я": "е"}


def _misheard(word: str, r: random.Random) -> str:
    """The word with one inner vowel swapped for the one it is often heard as."""
    inner = [i for i, letter in enumerate(word[1:-1], 1) if letter in _VOWEL_SLIPS]
    if not inner:
        return word + "а"
    i = r.choice(inner)
    return word[:i] + _VOWEL_SLIPS[word[i]] + word[i + 1 :]


def _print_latencies(name: str, timings: list[tuple[float, bool]]) -> None:
    latencies_ms = [ms for ms, _ in timings]
    p50 = statistics.median(latencies_ms)
    p95 = statistics.quantiles(latencies_ms, n=20)[-1]
    print(
        f"  {name:<13} n={len(latencies_ms):<4} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
        f"max {max(latencies_ms):7.1f} ms  (no hits: {sum(empty for _, empty in timings)})",
        flush=True,
    )


def _timed(
    session: Session, run: Callable[..., SearchPage], query: SearchQuery
) -> tuple[float, bool]:
    started = time.perf_counter()
    page = run(session, query)
    return (time.perf_counter() - started) * 1000, not page.hits


def measure(engine: Engine, queries: dict[str, list[SearchQuery]]) -> None:
    """Per class, interleaved: ``search`` (one page: exact hits, or sound-alikes when
    there are none), the same with fuzzy off, and ``search_filled`` (the page topped up
    with sound-alike hits where the exact ones end short: what the CLI and web UI show)."""
    with Session(engine) as session:
        for query in [q for qs in queries.values() for q in qs[:10]]:
            search_filled(session, query)  # warm the page cache and the lemmatiser
        words: list[tuple[float, bool]] = []
        for name, batch in queries.items():
            runs: dict[str, list[tuple[float, bool]]] = {"": [], "  fuzzy off": [], "  filled": []}
            for number, query in enumerate(batch):
                variants = [
                    ("", search, query),
                    ("  fuzzy off", search, replace(query, fuzzy=False)),
                    ("  filled", search_filled, query),
                ][: 3 if name != "misheard" else 1]
                # Rotated: whichever runs first reads the query's pages into the cache.
                for at in range(len(variants)):
                    label, run, variant = variants[(number + at) % len(variants)]
                    runs[label].append(_timed(session, run, variant))
            for label, timings in runs.items():
                if timings:
                    _print_latencies(label or name, timings)
            if name.endswith("words"):
                words += runs[""]
        _print_latencies("single words", words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="segments to index")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--queries", type=int, default=200, help="queries per kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sqlite-path", type=Path, help="keep the SQLite file here")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "EFIR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument(
        "--word-probabilities",
        action="store_true",
        help="give each word a probability drawn from the fixtures' real ASR",
    )
    parser.add_argument(
        "--reuse",
        metavar="DATABASE",
        help="query an index built before (a --sqlite-path file or a kept PostgreSQL database)",
    )
    args = parser.parse_args()

    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        print(f"{backend}: {args.reuse or f'{args.size:,} segments'}", flush=True)
        reused = Path(args.reuse) if args.reuse else None
        context = (
            sqlite_engine(reused or args.sqlite_path, fresh=reused is None)
            if backend == "sqlite"
            else postgres_engine(args.postgres_url, args.keep, args.reuse)
        )
        with context as engine:
            writer = (
                replay(args.seed)
                if args.reuse
                else build(engine, args.size, args.seed, word_probabilities=args.word_probabilities)
            )
            measure(engine, query_sets(writer, args.queries, args.seed))


if __name__ == "__main__":
    main()
