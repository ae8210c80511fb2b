"""Writing a clip's transcript into the search tables.

Callers own the transaction: index inside the one that stores a revision, so the
index never shows text that was rolled back.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from types import ModuleType
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from efir.db import insert_missing
from efir.search import backend_postgres, backend_sqlite
from efir.search.fuzzy import stored_variants
from efir.search.heard import DOUBT_MARK, indexed_terms
from efir.search.lemmas import TERM_JOINER, Token, normalise, term_of, tokenize, words
from efir.search.models import ClipMeta
from efir.search.phonetic import phonetic_key
from efir.search.schema import (
    search_segments,
    search_speakers,
    search_terms,
    search_vocab,
    search_vocab_variants,
)
from efir.transcripts.model import Segment, Transcript

__all__ = [
    "TokenEvidence",
    "add_forms",
    "backend_of",
    "forms_of",
    "index_transcript",
    "lemmas_of",
    "relemmatise",
    "relemmatise_clip",
    "relemmatise_latest_revisions",
    "remove_clip",
    "token_evidence",
    "update_clip_meta",
]


def backend_of(session: Session) -> ModuleType:
    return backend_postgres if session.get_bind().dialect.name == "postgresql" else backend_sqlite


def _clip_fields(clip: ClipMeta) -> dict[str, Any]:
    return {
        "clip_id": clip.clip_id,
        "title": clip.title,
        "programme": clip.programme,
        "channel": clip.channel,
        "air_date": clip.air_date,
    }


class _IndexedText(NamedTuple):
    """What indexing takes from a segment's text, its words read once: the index term
    of each (the ``lemmas`` column), each word with its term as written (for
    ``add_forms``), and the forms indexed as doubted (normalised)."""

    terms: list[str]
    forms: list[tuple[str, str]]
    doubted: set[str]


def _indexed_text(segment: Segment, text: str) -> _IndexedText:
    tokens = list(tokenize(text))
    spelt = [token.text for token in tokens]
    terms = indexed_terms(spelt, *token_evidence(segment, text, tokens))
    return _IndexedText(
        terms, [(word, term_of(word)) for word in spelt], _doubted_forms(spelt, terms)
    )


def _segment_row(
    clip: ClipMeta, transcript: Transcript, segment: Segment
) -> tuple[dict[str, Any], _IndexedText]:
    """The segment's row of ``search_segments``, with what else its text adds."""
    speaker = transcript.speaker(segment.speaker)
    caption = speaker.caption if speaker else None
    # Composed form, so a decomposed «й» (и + breve) stays inside its word.
    text = unicodedata.normalize("NFC", segment.text)
    indexed = _indexed_text(segment, text)
    row = {
        **_clip_fields(clip),
        "segment_id": segment.id,
        "start": segment.start,
        "end": segment.end,
        "speaker_id": segment.speaker,
        "voice_id": speaker.voice_id if speaker else None,
        "speaker_caption": caption,
        "speaker_key": normalise(caption) if caption else None,
        "role": speaker.role.value if speaker and speaker.role else None,
        "text": text,
        "lemmas": " ".join(indexed.terms),
    }
    return row, indexed


def lemmas_of(
    text: str, probabilities: Sequence[float] = (), alternatives: Sequence[tuple[str, ...]] = ()
) -> str:
    """The ``lemmas`` column of a segment: one index term per word (``probabilities``:
    the recogniser's, one a word, or none when it was sure of every word;
    ``alternatives``: what its other hypotheses heard, one tuple a word, or none)."""
    return " ".join(indexed_terms(words(text), probabilities, alternatives))


class TokenEvidence(NamedTuple):
    """What the recogniser said of each word of a segment's text, in text order."""

    probabilities: list[float]
    alternatives: list[tuple[str, ...]]


def token_evidence(
    segment: Segment, text: str, tokens: Sequence[Token] | None = None
) -> TokenEvidence:
    """For each word of the text (``tokens``: its words, when the caller has them), read
    off the timed words it overlaps (one word of the text may be two of Whisper's,
    «Тала-Дэва»): the recogniser's probability, the least of theirs (a word no timed
    word spells, as an edit moved it, counts as sure), and what its other hypotheses
    heard there, all of theirs (none at all when no word carries any). A segment
    without timed words gives neither."""
    if not segment.words:
        return TokenEvidence([], [])
    spans: list[tuple[int, int, float, tuple[str, ...]]] = []
    heard = False
    cursor = 0
    for word in segment.words:
        spelt = unicodedata.normalize("NFC", word.word.strip())
        # Each timed word where the text goes on (after spaces), not anywhere further.
        start = cursor
        while start < len(text) and text[start].isspace():
            start += 1
        if spelt and text.startswith(spelt, start):
            cursor = start + len(spelt)
            spans.append((start, cursor, word.probability, word.alternatives))
            heard = heard or bool(word.alternatives)
    # Both in text order: walk them together.
    probabilities: list[float] = []
    alternatives: list[tuple[str, ...]] = []
    first = 0
    for token in tokenize(text) if tokens is None else tokens:
        while first < len(spans) and spans[first][1] <= token.start:
            first += 1
        least, after = 1.0, first
        while after < len(spans) and spans[after][0] < token.end:
            least, after = min(least, spans[after][2]), after + 1
        probabilities.append(least)
        if heard:
            alternatives.append(
                tuple(dict.fromkeys(a for span in spans[first:after] for a in span[3]))
            )
    return TokenEvidence(probabilities, alternatives)


def _doubted_forms(spelt: Sequence[str], terms: Sequence[str]) -> set[str]:
    """The word forms (normalised) of positions indexed as doubted (``DOUBT_MARK``)."""
    return {
        normalise(word)
        for word, term in zip(spelt, terms, strict=True)
        if DOUBT_MARK in term.split(TERM_JOINER)
    }


def index_transcript(session: Session, clip: ClipMeta, transcript: Transcript) -> None:
    """Replace the clip's rows with this transcript: call on every revision and rename."""
    remove_clip(session, clip.clip_id)
    rows, indexed = [], []
    for segment in transcript.segments:
        row, text = _segment_row(clip, transcript, segment)
        rows.append(row)
        indexed.append(text)
    if not rows:
        return
    _add_terms(session, {term for text in indexed for term in text.terms})
    add_forms(
        session,
        (form for text in indexed for form in text.forms),
        set().union(*(text.doubted for text in indexed)),
    )
    speaker_keys = sorted({row["speaker_key"] for row in rows if row["speaker_key"]})
    insert_missing(session, search_speakers, [{"speaker_key": key} for key in speaker_keys])
    session.execute(search_segments.insert(), rows)


def _add_terms(session: Session, terms: set[str]) -> None:
    # Most terms of a new transcript are already known; asking which are new is far
    # cheaper than one conflicting insert per (lemma, term) pair, and asking with one
    # array parameter cheaper than an IN list of hundreds (or reading back the known).
    backend = backend_of(session)
    pairs = [
        {"lemma": lemma, "term": term}
        for term in sorted(backend.not_stored(session, search_terms.c.term, sorted(terms)))
        for lemma in term.split(TERM_JOINER)
    ]
    insert_missing(session, search_terms, pairs)


def add_forms(
    session: Session,
    words_and_terms: Iterable[tuple[str, str]],
    doubted: AbstractSet[str] = frozenset(),
) -> None:
    """Put word forms not seen before into the vocabulary (efir.search.fuzzy), each
    with the term it is indexed under; and flag the ``doubted`` forms (normalised),
    giving those first doubted now the variants of a doubted word."""
    terms = {normalise(word): term for word, term in words_and_terms}
    backend = backend_of(session)
    new = sorted(backend.not_stored(session, search_vocab.c.form, sorted(terms)))
    rows = [
        {"form": form, "term": terms[form], "key": phonetic_key(form), "doubted": form in doubted}
        for form in new
    ]
    returned = (search_vocab.c.id, search_vocab.c.form, search_vocab.c.key)
    # RETURNING, not a look-up by form: the rows a concurrent indexer added first come
    # with their variants from that indexer.
    stored = [tuple(row) for row in insert_missing(session, search_vocab, rows, *returned)]
    if known := sorted(doubted - {form for _, form, _ in stored}):
        # Only forms not flagged yet: a doubted form's variants are written once.
        stored += [
            tuple(row)
            for row in session.execute(
                update(search_vocab)
                .where(
                    backend.many_of(search_vocab.c.form, known), search_vocab.c.doubted.is_(False)
                )
                .values(doubted=True)
                .returning(*returned)
            )
        ]
    variants = [
        {"variant": variant, "vocab_id": vocab_id}
        for vocab_id, form, key in stored
        for variant in sorted(stored_variants(form, key, doubted=form in doubted))
    ]
    insert_missing(session, search_vocab_variants, variants)


def relemmatise(session: Session, lemmas: Callable[[str], str], batch: int = 5000) -> None:
    """Write every segment's ``lemmas`` anew from its text (migration 0017 adds the
    heard lemmas to what is indexed already), in id batches; rows whose terms stay
    the same are not written (SQLite's trigger and PostgreSQL's vector follow)."""
    last_id = 0
    while rows := session.execute(
        select(search_segments.c.id, search_segments.c.text, search_segments.c.lemmas)
        .where(search_segments.c.id > last_id)
        .order_by(search_segments.c.id)
        .limit(batch)
    ).all():
        _write_lemmas(session, [(row.id, row.lemmas, row.text, lemmas(row.text)) for row in rows])
        last_id = rows[-1].id


def relemmatise_clip(session: Session, clip_id: str, transcript: Transcript) -> None:
    """Write the clip's segments' ``lemmas`` anew from the transcript they were indexed
    from, with the recogniser's doubts (migration 0018), keeping their rows (and so
    their row ids, the recency a search ranks by); rows whose terms stay are not written."""
    segments = {segment.id: segment for segment in transcript.segments}
    rows = session.execute(
        select(
            search_segments.c.id,
            search_segments.c.segment_id,
            search_segments.c.text,
            search_segments.c.lemmas,
        ).where(search_segments.c.clip_id == clip_id)
    ).all()
    _write_lemmas(
        session,
        [
            (
                row.id,
                row.lemmas,
                row.text,
                lemmas_of(row.text, *token_evidence(segment, row.text)),
            )
            for row in rows
            if (segment := segments.get(row.segment_id)) is not None
        ],
    )


def relemmatise_latest_revisions(session: Session) -> None:
    """``relemmatise_clip`` for every clip, from its latest transcript revision (for
    migrations that change what a transcript's words add to their terms)."""
    # One clip's transcript at a time: an archive's revisions do not fit in memory.
    latest = session.execute(
        sql("SELECT clip_id, max(revision) AS revision FROM transcripts GROUP BY clip_id")
    ).all()
    for clip_id, revision in latest:
        data = session.execute(
            sql("SELECT data FROM transcripts WHERE clip_id = :clip_id AND revision = :revision"),
            {"clip_id": clip_id, "revision": revision},
        ).scalar_one()
        # A JSON column reads back as text on SQLite through a plain statement.
        stored = json.loads(data) if isinstance(data, str) else data
        relemmatise_clip(session, clip_id, Transcript.from_dict(stored))


def _write_lemmas(session: Session, rows: Sequence[tuple[int, str, str, str]]) -> None:
    """Store new ``lemmas`` (row id, old lemmas, text, new lemmas) where they changed,
    with their terms and the doubted forms' variants (SQLite's trigger and
    PostgreSQL's vector follow)."""
    changed: list[dict[str, Any]] = [
        {"row_id": row_id, "text": text, "lemmas": new}
        for row_id, old, text, new in rows
        if new != old
    ]
    if not changed:
        return
    _add_terms(session, {term for row in changed for term in row["lemmas"].split()})
    if doubted := set().union(
        *(_doubted_forms(words(row["text"]), row["lemmas"].split()) for row in changed)
    ):
        add_forms(session, (), doubted)
    session.execute(
        update(search_segments)
        .where(search_segments.c.id == bindparam("row_id"))
        .values(lemmas=bindparam("new_lemmas")),
        [{"row_id": row["row_id"], "new_lemmas": row["lemmas"]} for row in changed],
    )


def forms_of(texts: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Each word of the texts with its term: what ``add_forms`` takes."""
    return ((word, term_of(word)) for text in texts for word in words(text))


def remove_clip(session: Session, clip_id: str) -> None:
    session.execute(delete(search_segments).where(search_segments.c.clip_id == clip_id))


def update_clip_meta(session: Session, clip: ClipMeta) -> None:
    """Copy edited clip metadata (title, programme, channel, air date) into the index."""
    session.execute(
        update(search_segments)
        .where(search_segments.c.clip_id == clip.clip_id)
        .values(**_clip_fields(clip))
    )
