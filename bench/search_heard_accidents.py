"""Words heard across a boundary in a correct archive: every one is an accident.

    PYTHONPATH=$PWD:$PWD/tests .venv/bin/python bench/search_heard_accidents.py \
        sqlite:////tmp/bench.sqlite3

Reads an index built by bench/search_bench.py (its text holds no mishearings) and
prints how many segments carry a heard lemma (efir.search.heard), and which of the
precision set's absent words (tests/support/sounds_like_sets.py) the archive holds as
heard lemmas: a search for such a word there gets sound-alike hits by accident.
"""

from __future__ import annotations

import sys
from typing import Any

from sqlalchemy import Select, create_engine, func, select
from support.sounds_like_sets import DEVELOPMENT, TEST, absent_words

from efir.search.heard import HEARD_MARK, marked
from efir.search.lemmas import query_lemmas
from efir.search.schema import search_segments, search_terms


def main(url: str) -> None:
    words = absent_words([*DEVELOPMENT, *TEST])
    engine = create_engine(url)
    with engine.connect() as connection:

        def count(statement: Select[Any]) -> int:
            return int(connection.scalar(statement) or 0)

        held = {
            word: terms
            for word in words
            if (
                terms := count(
                    select(func.count()).where(
                        search_terms.c.lemma.in_(sorted(map(marked, query_lemmas(word))))
                    )
                )
            )
        }
        segments = count(select(func.count()).select_from(search_segments))
        # A term's marked lemmas sort first, so a heard position's term starts with the mark.
        heard = count(
            select(func.count()).where(
                search_segments.c.lemmas.startswith(HEARD_MARK, autoescape=True)
                | search_segments.c.lemmas.contains(" " + HEARD_MARK, autoescape=True)
            )
        )
        lemmas = count(
            select(func.count(search_terms.c.lemma.distinct())).where(
                search_terms.c.lemma.startswith(HEARD_MARK, autoescape=True)
            )
        )
    print(
        f"segments {segments:,}, with a heard position {heard:,}; distinct heard lemmas {lemmas:,}"
    )
    print(f"absent words held as heard lemmas: {len(held)} of {len(words)}: {held}")


if __name__ == "__main__":
    main(sys.argv[1])
