"""Migrations build exactly the ORM schema, on SQLite and PostgreSQL, up to the newest head."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import ForeignKeyConstraint, Index, Table, UniqueConstraint, text

from efir.db import MIGRATIONS_DIR, Base, Clip, make_engine, migrate


def test_migrations_match_the_models_and_reach_head(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)  # a second run is a no-op
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, Base.metadata)
        current = context.get_current_revision()
    engine.dispose()
    ours = set(Base.metadata.tables)
    # Other modules' migrations add their own tables; only differences in ours count.
    relevant = [d for d in differences if _table_of(d) in ours]
    assert relevant == []
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert current == ScriptDirectory.from_config(config).get_current_head()


def test_sqlite_connections_use_wal_and_enforce_foreign_keys(sqlite_url: str) -> None:
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
    engine.dispose()


def test_created_at_comes_back_timezone_aware(database_url: str) -> None:
    from efir.db import make_session_factory

    migrate(database_url)
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        clip = Clip(sha256="0" * 64, original_filename="a.mp4", media_key="k", size_bytes=1)
        session.add(clip)
        session.commit()
        session.expire_all()
        loaded = session.get(Clip, clip.id)
        assert loaded is not None
        assert loaded.created_at.utcoffset() is not None
        session.delete(loaded)
        session.commit()
    engine.dispose()


def _table_of(difference: Any) -> str | None:
    """The table an alembic autogenerate difference is about."""
    operation = difference[0] if isinstance(difference, list) else difference
    for part in operation[1:]:
        if isinstance(part, Table):
            return part.name
        if isinstance(part, Index | UniqueConstraint | ForeignKeyConstraint):
            return part.table.name
    if isinstance(operation[2], str):  # ("add_column", schema, table name, column) and kin
        return operation[2]
    return None
