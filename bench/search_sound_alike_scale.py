"""Sound-alike search on a large correct archive: accidents, and misheard queries.

    PYTHONPATH=$PWD:$PWD/tests .venv/bin/python bench/search_sound_alike_scale.py \
        sqlite:////tmp/bench.sqlite3

Reads an index built by bench/search_bench.py (seed 7; its text holds no mishearings)
and prints two figures that the fixtures are too small to show:

- accidents: of 600 words of wordfreq's Russian list (ranks 3,000-60,000, five letters
  or more, seed 16), those the archive never holds (no exact hit) that still get a
  sound-alike hit; every such hit is an accident;
- the bench's misheard queries (a tail word of the text with one vowel swapped): how
  many find nothing, how many find the word meant among their 20 hits, and first.
"""

from __future__ import annotations

import random
import re
import sys

import search_bench
import wordfreq
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from efir.search import SearchQuery, search, search_filled
from efir.search.lemmas import index_candidates, query_lemmas, words

SAMPLE, SEED = 600, 16


def accidents(session: Session) -> str:
    pool = [w for w in wordfreq.top_n_list("ru", 60_000)[3_000:] if re.fullmatch("[а-яё]{5,}", w)]
    absent = [
        word
        for word in random.Random(SEED).sample(pool, SAMPLE)
        if not search(session, SearchQuery(word, limit=1, fuzzy=False)).hits
    ]
    hit = [word for word in absent if search_filled(session, SearchQuery(word, limit=20)).hits]
    return f"absent words with a sound-alike hit: {len(hit)} / {len(absent)}"


def misheard(session: Session) -> str:
    meant: dict[str, str] = {}
    swap = search_bench._misheard

    def recorded(word: str, r: random.Random) -> str:
        meant[heard := swap(word, r)] = word
        return heard

    search_bench._misheard = recorded
    queries = search_bench.query_sets(search_bench.replay(7), 200, 7)["misheard"]
    none = among = first = 0
    for query in queries:
        hits = search(session, query).hits
        wanted = query_lemmas(meant[query.text])
        good = [any(index_candidates(w) & wanted for w in words(hit.heard or "")) for hit in hits]
        none += not hits
        among += any(good)
        first += bool(good) and good[0]
    return f"misheard: no hits {none}, the word meant among 20 {among}, first {first}"


def main(url: str) -> None:
    engine = create_engine(url)
    with Session(engine) as session:
        print(accidents(session))
        print(misheard(session))
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1])
