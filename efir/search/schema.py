"""Search tables, created by migration 0002 and by tests through the same function.

``search_segments`` holds one row per transcript segment with the clip's filter
fields copied in (so a search is one indexed scan, no join to clips) and
``lemmas``: one index term per word position (see ``efir.search.lemmas``).
``search_terms`` maps every lemma to the terms that contain it; queries expand a
word to those terms. SQLite adds an external-content FTS5 table kept in step by
triggers; PostgreSQL adds a generated tsvector with a GIN index.

The PostgreSQL vector is built from the stored terms verbatim, one lexeme per
position. That is what ``to_tsvector('simple', lemmas)`` would give, except that
the default parser would split hyphenated lemmas ("абылай-хан") into extra
positions and so break phrase adjacency.

``search_vocab`` (migration 0010) holds every distinct word form ever indexed with
its term and phonetic key, and ``search_vocab_variants`` each key with one or two
letters deleted, so a misheard form is found from the query's forms by exact
lookups (see ``efir.search.fuzzy``); ``doubted`` (migration 0018): the form was
once a real word the recogniser doubted, so it holds a non-word's variants too.
Keys are also trigram-indexed for substring look-ups (merged tokens): an FTS5
trigram table on SQLite, pg_trgm on PostgreSQL.
Like ``search_terms``, forms of removed clips linger and match no segment.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    text,
)

__all__ = [
    "FILTER_INDEX_DDL",
    "add_doubted_column",
    "create_filter_indexes",
    "create_id_window_index",
    "create_search_schema",
    "create_vocab_tables",
    "drop_doubted_column",
    "drop_filter_indexes",
    "drop_id_window_index",
    "drop_search_schema",
    "drop_vocab_tables",
    "search_segments",
    "search_speakers",
    "search_terms",
    "search_vocab",
    "search_vocab_variants",
]

# Query-building mirrors of the DDL below; the DDL itself is dialect-specific SQL.
_metadata = MetaData()
search_segments = Table(
    "search_segments",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("clip_id", String(64), nullable=False),
    Column("segment_id", Integer, nullable=False),
    Column("start", Float, nullable=False),
    Column("end", Float, nullable=False),
    Column("speaker_id", String(64)),
    Column("voice_id", String(64)),
    Column("speaker_caption", Text),
    Column("speaker_key", Text),  # caption lower-cased with ё→е, for substring filters
    Column("role", String(32)),
    Column("title", Text),
    Column("programme", Text),
    Column("channel", Text),
    Column("air_date", Date),
    Column("text", Text, nullable=False),
    Column("lemmas", Text, nullable=False),
)
search_terms = Table(
    "search_terms",
    _metadata,
    Column("lemma", Text, primary_key=True),
    Column("term", Text, primary_key=True),
)

search_vocab = Table(
    "search_vocab",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("form", Text, nullable=False, unique=True),
    Column("term", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("doubted", Boolean, nullable=False),
)
search_vocab_variants = Table(
    "search_vocab_variants",
    _metadata,
    Column("variant", Text, primary_key=True),
    Column("vocab_id", Integer, primary_key=True),
)

# Every speaker_key ever indexed (a few thousand, not one per segment): a speaker
# substring filter scans this instead of every segment, then looks the keys up
# through ix_search_segments_speaker_key. Keys of removed clips may linger; they
# match no segment, so they change no result.
search_speakers = Table(
    "search_speakers",
    _metadata,
    Column("speaker_key", Text, primary_key=True),
)

_SEGMENT_COLUMNS = """
    clip_id VARCHAR(64) NOT NULL,
    segment_id INTEGER NOT NULL,
    start DOUBLE PRECISION NOT NULL,
    "end" DOUBLE PRECISION NOT NULL,
    speaker_id VARCHAR(64),
    voice_id VARCHAR(64),
    speaker_caption TEXT,
    speaker_key TEXT,
    role VARCHAR(32),
    title TEXT,
    programme TEXT,
    channel TEXT,
    air_date DATE,
    text TEXT NOT NULL,
    lemmas TEXT NOT NULL"""

_COMMON_INDEXES = (
    "CREATE UNIQUE INDEX ix_search_segments_clip ON search_segments (clip_id, segment_id)",
    "CREATE INDEX ix_search_segments_air_date ON search_segments (air_date)",
    "CREATE INDEX ix_search_segments_programme ON search_segments (programme)",
    "CREATE INDEX ix_search_segments_channel ON search_segments (channel)",
    "CREATE INDEX ix_search_segments_voice ON search_segments (voice_id)",
)

# Added by migration 0005: filters an index serves are applied before the word's
# matches are read (see searching.py). Composite with air_date because the role
# and programme filters come with a date range. Idempotent, because a fresh
# database gets them from 0002 (create_search_schema) before 0005 runs.
FILTER_INDEX_DDL = (
    "CREATE TABLE IF NOT EXISTS search_speakers (speaker_key TEXT PRIMARY KEY)",
    "CREATE INDEX IF NOT EXISTS ix_search_segments_speaker_key ON search_segments (speaker_key)",
    "CREATE INDEX IF NOT EXISTS ix_search_segments_role_date ON search_segments (role, air_date)",
    "CREATE INDEX IF NOT EXISTS ix_search_segments_programme_date"
    " ON search_segments (programme, air_date)",
    "INSERT INTO search_speakers (speaker_key) SELECT DISTINCT speaker_key"
    " FROM search_segments WHERE speaker_key IS NOT NULL ON CONFLICT DO NOTHING",
)
_FILTER_INDEX_DROP = (
    "DROP INDEX IF EXISTS ix_search_segments_programme_date",
    "DROP INDEX IF EXISTS ix_search_segments_role_date",
    "DROP INDEX IF EXISTS ix_search_segments_speaker_key",
    "DROP TABLE IF EXISTS search_speakers",
)

# Added by migration 0009, PostgreSQL only: a search reads the newest matches through
# id windows (backend_postgres.py), and rows are appended in id order, so a BRIN
# summary of each few pages turns a window into a page-range bitmap for a few
# hundred bytes of index, where the primary key had to list every id in it (35-95
# ms for a 320,000-id window). SQLite's FTS5 walks rowids newest first itself.
# A BRIN range not yet summarised matches every window: autosummarize has
# autovacuum summarise each range once it is full, not only when it vacuums the
# table (measured: an index created before a 1,000,000-segment build and never
# summarised made common words 176/627 ms p50/p95).
_ID_WINDOW_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_search_segments_id_brin ON search_segments"
    " USING brin (id) WITH (pages_per_range = 16, autosummarize = on)"
)

# Migration 0019, PostgreSQL only: a speaker filter looks its substring up among the
# distinct speaker keys (searching.py). A scan of 14,700 keys cost 4.7 ms at 1M
# segments; pg_trgm answers "keys containing this string" from the index in 0.5 ms.
_SPEAKER_KEY_INDEX = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_search_speakers_key_trgm ON search_speakers"
    " USING gin (speaker_key gin_trgm_ops)",
)

# Migration 0018's column (in the table's DDL too, for a database created since).
_DOUBTED_COLUMN = "doubted BOOLEAN NOT NULL DEFAULT false"

# Migration 0010: the vocabulary of indexed word forms for approximate matching.
_SQLITE_VOCAB_DDL = (
    "CREATE TABLE IF NOT EXISTS search_vocab (id INTEGER PRIMARY KEY,"
    " form TEXT NOT NULL UNIQUE, term TEXT NOT NULL, key TEXT NOT NULL,"
    f" {_DOUBTED_COLUMN})",
    "CREATE TABLE IF NOT EXISTS search_vocab_variants (variant TEXT NOT NULL,"
    " vocab_id INTEGER NOT NULL, PRIMARY KEY (variant, vocab_id)) WITHOUT ROWID",
    # A trigram FTS5 table answers "keys containing this string" from its index.
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_vocab_keys USING fts5(key,"
    " content='search_vocab', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS search_vocab_ai AFTER INSERT ON search_vocab BEGIN"
    " INSERT INTO search_vocab_keys (rowid, key) VALUES (new.id, new.key); END",
)
_POSTGRES_VOCAB_DDL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE TABLE IF NOT EXISTS search_vocab (id BIGSERIAL PRIMARY KEY,"
    ' form TEXT COLLATE "C" NOT NULL UNIQUE, term TEXT COLLATE "C" NOT NULL,'
    f' key TEXT COLLATE "C" NOT NULL, {_DOUBTED_COLUMN})',
    'CREATE TABLE IF NOT EXISTS search_vocab_variants (variant TEXT COLLATE "C" NOT NULL,'
    " vocab_id BIGINT NOT NULL, PRIMARY KEY (variant, vocab_id))",
    "CREATE INDEX IF NOT EXISTS ix_search_vocab_key_trgm ON search_vocab"
    " USING gin (key gin_trgm_ops)",
)
_SQLITE_VOCAB_DROP = (
    "DROP TABLE IF EXISTS search_vocab_keys",
    "DROP TABLE IF EXISTS search_vocab_variants",
    "DROP TABLE IF EXISTS search_vocab",
)
_POSTGRES_VOCAB_DROP = (
    "DROP TABLE IF EXISTS search_vocab_variants",
    "DROP TABLE IF EXISTS search_vocab",
)

_SQLITE_DDL = (
    f"CREATE TABLE search_segments (id INTEGER PRIMARY KEY, {_SEGMENT_COLUMNS})",
    *_COMMON_INDEXES,
    "CREATE TABLE search_terms (lemma TEXT NOT NULL, term TEXT NOT NULL,"
    " PRIMARY KEY (lemma, term)) WITHOUT ROWID",
    "CREATE INDEX ix_search_terms_term ON search_terms (term)",
    # remove_diacritics 0: й stays й, as in PostgreSQL; ё is already folded by efir.
    "CREATE VIRTUAL TABLE search_segments_fts USING fts5(lemmas,"
    " content='search_segments', content_rowid='id',"
    " tokenize=\"unicode61 remove_diacritics 0 tokenchars '-_'\")",
    "CREATE TRIGGER search_segments_ai AFTER INSERT ON search_segments BEGIN"
    " INSERT INTO search_segments_fts (rowid, lemmas) VALUES (new.id, new.lemmas); END",
    "CREATE TRIGGER search_segments_ad AFTER DELETE ON search_segments BEGIN"
    " INSERT INTO search_segments_fts (search_segments_fts, rowid, lemmas)"
    " VALUES ('delete', old.id, old.lemmas); END",
    "CREATE TRIGGER search_segments_au AFTER UPDATE OF lemmas ON search_segments BEGIN"
    " INSERT INTO search_segments_fts (search_segments_fts, rowid, lemmas)"
    " VALUES ('delete', old.id, old.lemmas);"
    " INSERT INTO search_segments_fts (rowid, lemmas) VALUES (new.id, new.lemmas); END",
)

_POSTGRES_DDL = (
    # Positions above 16383 are clamped by tsvector; segments never get near that.
    """CREATE FUNCTION efir_lemma_vector(lemmas text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT coalesce(string_agg(
            '''' || term || ''':' || least(position, 16383), ' '), '')::tsvector
        FROM unnest(string_to_array(lemmas, ' ')) WITH ORDINALITY AS t(term, position)
        WHERE term <> ''
    $$""",
    f"""CREATE TABLE search_segments (id BIGSERIAL PRIMARY KEY, {_SEGMENT_COLUMNS},
    lemma_vector tsvector GENERATED ALWAYS AS (efir_lemma_vector(lemmas)) STORED)""",
    *_COMMON_INDEXES,
    "CREATE INDEX ix_search_segments_vector ON search_segments USING gin (lemma_vector)",
    # Byte order ("C") so a prefix is a plain key range, whatever the database locale.
    'CREATE TABLE search_terms (lemma TEXT COLLATE "C" NOT NULL,'
    ' term TEXT COLLATE "C" NOT NULL, PRIMARY KEY (lemma, term))',
    "CREATE INDEX ix_search_terms_term ON search_terms (term)",
)

_SQLITE_DROP = (
    "DROP TABLE IF EXISTS search_speakers",
    "DROP TABLE IF EXISTS search_segments_fts",
    "DROP TABLE IF EXISTS search_segments",
    "DROP TABLE IF EXISTS search_terms",
)
_POSTGRES_DROP = (
    "DROP TABLE IF EXISTS search_speakers",
    "DROP TABLE IF EXISTS search_segments",
    "DROP TABLE IF EXISTS search_terms",
    "DROP FUNCTION IF EXISTS efir_lemma_vector(text)",
)


def create_search_schema(connection: Connection) -> None:
    """The whole search schema as of the newest migration (0002, 0005, 0009, 0010, 0018,
    0019)."""
    ddl = _POSTGRES_DDL if connection.dialect.name == "postgresql" else _SQLITE_DDL
    for statement in (*ddl, *FILTER_INDEX_DDL):
        connection.execute(text(statement))
    create_id_window_index(connection)
    create_vocab_tables(connection)
    create_speaker_key_index(connection)


def create_vocab_tables(connection: Connection) -> None:
    """Migration 0010's tables (idempotent); filling them is ``efir.search.fuzzy``'s."""
    postgres = connection.dialect.name == "postgresql"
    for statement in _POSTGRES_VOCAB_DDL if postgres else _SQLITE_VOCAB_DDL:
        connection.execute(text(statement))


def add_doubted_column(connection: Connection) -> None:
    """Migration 0018's column (idempotent: 0010 creates the table with it today)."""
    columns = {column["name"] for column in inspect(connection).get_columns("search_vocab")}
    if "doubted" not in columns:
        connection.execute(text(f"ALTER TABLE search_vocab ADD COLUMN {_DOUBTED_COLUMN}"))


def drop_doubted_column(connection: Connection) -> None:
    connection.execute(text("ALTER TABLE search_vocab DROP COLUMN doubted"))


def drop_vocab_tables(connection: Connection) -> None:
    postgres = connection.dialect.name == "postgresql"
    for statement in _POSTGRES_VOCAB_DROP if postgres else _SQLITE_VOCAB_DROP:
        connection.execute(text(statement))


def create_id_window_index(connection: Connection) -> None:
    """Migration 0009's part (PostgreSQL only; idempotent, as 0002 already creates it)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(_ID_WINDOW_INDEX))


def drop_id_window_index(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("DROP INDEX IF EXISTS ix_search_segments_id_brin"))


def create_speaker_key_index(connection: Connection) -> None:
    """Migration 0019's index (PostgreSQL only; idempotent, as 0002 already creates it)."""
    if connection.dialect.name == "postgresql":
        for statement in _SPEAKER_KEY_INDEX:
            connection.execute(text(statement))


def drop_speaker_key_index(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("DROP INDEX IF EXISTS ix_search_speakers_key_trgm"))


def create_filter_indexes(connection: Connection) -> None:
    """Migration 0005's part: the speaker table (filled from existing rows) and indexes."""
    for statement in FILTER_INDEX_DDL:
        connection.execute(text(statement))


def drop_filter_indexes(connection: Connection) -> None:
    for statement in _FILTER_INDEX_DROP:
        connection.execute(text(statement))


def drop_search_schema(connection: Connection) -> None:
    drop_vocab_tables(connection)
    drops = _POSTGRES_DROP if connection.dialect.name == "postgresql" else _SQLITE_DROP
    for statement in drops:
        connection.execute(text(statement))
