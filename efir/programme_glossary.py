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

from sqlalchemy import select
from sqlalchemy.orm import Session

from efir.db import AuditEvent, ProgrammeGlossary, insert_missing, utcnow
from efir.glossary import MAX_GLOSSARY_TERMS, Glossary

__all__ = [
    "add_programme_terms",
    "programme_glossary",
    "programme_key",
    "replace_programme_glossary",
    "with_programme_glossary",
]


def programme_key(programme: str) -> str:
    """The programme's name as compared: «Вечерние  новости» is «вечерние новости»."""
    return _spaced(programme).casefold()


def programme_glossary(session: Session, programme: str) -> tuple[str, ...]:
    """The programme's terms; none for a programme nobody gave any."""
    row = session.get(ProgrammeGlossary, programme_key(programme))
    return tuple(row.terms) if row is not None else ()


def add_programme_terms(session: Session, programme: str, terms: Iterable[str]) -> tuple[str, ...]:
    """Add terms to the programme's glossary; returns it. The caller commits."""
    row = _locked_row(session, programme)
    return _store(row, [*row.terms, *terms])


def replace_programme_glossary(
    session: Session, programme: str, terms: Iterable[str], *, actor: str
) -> tuple[str, ...]:
    """Replace the programme's terms; returns them. In the audit log with the terms it
    added and removed: what it removes, every later clip of the programme goes without.
    The caller commits."""
    row = _locked_row(session, programme)
    before = tuple(row.terms)
    after = _store(row, terms)
    details = {
        "programme": _spaced(programme),
        "added": [term for term in after if term not in before],
        "removed": [term for term in before if term not in after],
    }
    session.add(AuditEvent(actor=actor, action="programme_glossary.replace", details=details))
    return after


def with_programme_glossary(
    session: Session, programme: str | None, terms: Iterable[str]
) -> tuple[str, ...]:
    """A clip's glossary: its programme's terms, then its own (the prompt keeps the last
    ones when all do not fit, and a clip's own matter most to it)."""
    own = Glossary.from_text("\n".join(terms)).terms
    standing = programme_glossary(session, programme) if programme else ()
    return (*(term for term in standing if term not in own), *own)


def _store(row: ProgrammeGlossary, terms: Iterable[str]) -> tuple[str, ...]:
    """Set the row's terms, parsed as a glossary (one a line, duplicates once, the newest
    ``MAX_GLOSSARY_TERMS``)."""
    row.terms = list(Glossary.from_text("\n".join(terms)).terms[-MAX_GLOSSARY_TERMS:])
    return tuple(row.terms)


def _locked_row(session: Session, programme: str) -> ProgrammeGlossary:
    """The programme's row, made if it is missing (two uploads may make it at once: the
    second's insert does nothing) and locked until the caller commits where the database
    can lock a row (PostgreSQL; SQLite locks the whole database for a writer)."""
    key = programme_key(programme)
    new = {"key": key, "programme": _spaced(programme), "terms": [], "updated_at": utcnow()}
    insert_missing(session, ProgrammeGlossary, [new])
    locked = select(ProgrammeGlossary).where(ProgrammeGlossary.key == key).with_for_update()
    return session.scalars(locked.execution_options(populate_existing=True)).one()


def _spaced(programme: str) -> str:
    return " ".join(programme.split())
