"""A programme's glossary: the names, places and organisations its clips keep needing.

A daily programme meets the same officials, towns and organisations day after day. Their
terms are kept per programme and put before the clip's own in the glossary of every clip
uploaded under it (efir.glossary: the decoder's prompt, which keeps its last terms when
it is too long, and corrections where the audio agrees), so nobody types them into each
upload. Terms come from the upload form («Запомнить словарь для программы»), from an
editor's «add to glossary» on a clip of the programme, and from the API.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from efir.db import ProgrammeGlossary
from efir.glossary import Glossary

__all__ = [
    "MAX_TERMS",
    "add_programme_terms",
    "programme_glossary",
    "programme_key",
    "set_programme_glossary",
    "with_programme_glossary",
]

# As many as one upload's glossary may hold (api.intake).
MAX_TERMS = 5000


def programme_key(programme: str) -> str:
    """The programme's name as compared: «Вечерние  новости» is «вечерние новости»."""
    return " ".join(programme.split()).casefold()


def programme_glossary(session: Session, programme: str) -> tuple[str, ...]:
    """The programme's terms; none for a programme nobody gave any."""
    row = session.get(ProgrammeGlossary, programme_key(programme))
    return tuple(row.terms) if row is not None else ()


def set_programme_glossary(
    session: Session, programme: str, terms: Iterable[str]
) -> tuple[str, ...]:
    """Replace the programme's terms (parsed as a glossary: one a line, duplicates once,
    the newest ``MAX_TERMS``); returns them. The caller commits."""
    parsed = Glossary.from_text("\n".join(terms)).terms[-MAX_TERMS:]
    key = programme_key(programme)
    row = session.get(ProgrammeGlossary, key)
    if row is None:
        row = ProgrammeGlossary(key=key, programme=" ".join(programme.split()))
        session.add(row)
    row.terms = list(parsed)
    return parsed


def add_programme_terms(session: Session, programme: str, terms: Iterable[str]) -> tuple[str, ...]:
    """Add terms to the programme's glossary; returns it. The caller commits."""
    return set_programme_glossary(
        session, programme, [*programme_glossary(session, programme), *terms]
    )


def with_programme_glossary(
    session: Session, programme: str | None, terms: Iterable[str]
) -> tuple[str, ...]:
    """A clip's glossary: its programme's terms, then its own (the prompt keeps the last
    ones when all do not fit, and a clip's own matter most to it)."""
    own = Glossary.from_text("\n".join(terms)).terms
    standing = programme_glossary(session, programme) if programme else ()
    return (*(term for term in standing if term not in own), *own)
