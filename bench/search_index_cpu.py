"""Indexing old vs new: the rows a code tree writes, and the CPU it takes to write them.

    bench/search_index_cpu.py rows /path/to/old/tree   # one digest per search table
    bench/search_index_cpu.py cpu /path/to/old/tree    # segments/s of this process's CPU

Imports efir (and bench/search_bench.py) from the tree given, so run it once per tree,
alternating trees, in separate processes, and compare. The input is every fixture's
real ASR transcript (fixtures/**/*.asr.json, "rows" only) and --clips bench clips
(bench/news_text.py, seed 7), every other one with word probabilities drawn from the
fixtures' ASR as ``search_bench.py --word-probabilities`` draws them. "cpu" warms the
lemmatiser and the key dictionary on the first 40 clips and times index_transcript
over the rest, into in-memory SQLite (its FTS5 work is in this process's CPU).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["rows", "cpu"])
    parser.add_argument("tree", type=Path, help="the repository tree to import efir from")
    parser.add_argument("--clips", type=int, default=240)
    args = parser.parse_args()
    sys.path[:0] = [str(args.tree), str(args.tree / "bench")]

    # From the tree given, so imported only now.
    import search_bench
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.orm import Session

    from efir.search import ClipMeta, create_search_schema, index_transcript
    from efir.transcripts.model import Transcript

    writer = search_bench.NewsWriter(7)
    probabilities = search_bench._fixture_probabilities()
    drawn = random.Random(7)
    clips = []
    for number in range(args.clips):
        clip, transcript = writer.clip(number, search_bench.SEGMENTS_PER_CLIP)
        if number % 2 == 0:
            transcript = search_bench._heard_with(transcript, probabilities, drawn)
        clips.append((clip, transcript))
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        create_search_schema(connection)
    with Session(engine) as session:
        if args.mode == "rows":
            fixtures = sorted((args.tree / "fixtures").glob("**/*.asr.json"))
            for path in fixtures:
                transcript = Transcript.from_json(path.read_text("utf-8"))
                index_transcript(session, ClipMeta(path.name), transcript)
            for clip, transcript in clips:
                index_transcript(session, clip, transcript)
            session.commit()
            everything = hashlib.sha256()
            for table in sorted(inspect(engine).get_table_names()):
                rows = sorted(map(repr, session.execute(text(f"SELECT * FROM {table}")).all()))
                digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()
                everything.update(f"{table} {digest}\n".encode())
                print(f"{table:<28} {len(rows):>7} rows  {digest[:16]}")
            print(f"all tables: {everything.hexdigest()}")
            return
        for clip, transcript in clips[:40]:
            index_transcript(session, clip, transcript)
        session.commit()
        started = time.process_time()
        for clip, transcript in clips[40:]:
            index_transcript(session, clip, transcript)
        session.commit()
        cpu = time.process_time() - started
    segments = (len(clips) - 40) * search_bench.SEGMENTS_PER_CLIP
    print(f"{args.tree}: {segments:,} segments, {cpu:.2f} s CPU = {segments / cpu:,.0f} segments/s")


if __name__ == "__main__":
    main()
