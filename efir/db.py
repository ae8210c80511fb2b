"""Database schema and connections: SQLite by default, PostgreSQL in production.

The ORM classes here are the schema; Alembic migrations in ``efir/migrations``
create it. ``migrate(url)`` brings any database to the latest revision, including
revisions other modules add on top of ours.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Row,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    make_url,
)
from sqlalchemy import (
    Enum as SqlEnum,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

__all__ = [
    "AccountRole",
    "ApiToken",
    "Base",
    "Clip",
    "ClipAnalysis",
    "ClipSpeaker",
    "Cut",
    "CutState",
    "Job",
    "JobChunk",
    "JobState",
    "LoginFailure",
    "ProgrammeGlossary",
    "Selection",
    "SelectionQuote",
    "TranscriptRevision",
    "UiSession",
    "User",
    "Voice",
    "WebhookDelivery",
    "WebhookSubscription",
    "insert_missing",
    "make_engine",
    "make_session_factory",
    "migrate",
    "new_id",
    "utcnow",
]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Long enough for a worker's progress write to wait out an API transaction on SQLite.
SQLITE_BUSY_TIMEOUT_MS = 15_000


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime; use efir.db.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class JobState(StrEnum):
    QUEUED = "queued"
    DECODING = "decoding"
    TRANSCRIBING = "transcribing"
    SPEAKERS = "speakers"
    INDEXING = "indexing"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class CutState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (CutState.DONE, CutState.FAILED)


class AccountRole(StrEnum):
    """What an account may do; efir.accounts.users maps each permission to the roles holding it."""

    UPLOADER = "uploader"
    EDITOR = "editor"
    ARCHIVIST = "archivist"
    ADMIN = "admin"


def _checked_enum(values: type[StrEnum], constraint_name: str) -> SqlEnum:
    """VARCHAR + CHECK rather than a native enum: adding a value stays a one-line migration."""
    return SqlEnum(
        values,
        name=constraint_name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
    )


def _role_column(constraint_name: str) -> Mapped[AccountRole]:
    return mapped_column(type_=_checked_enum(AccountRole, constraint_name))


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime,
        dict[str, Any]: JSON,
        list[str]: JSON,
        list[float]: JSON,
    }


class Clip(Base):
    __tablename__ = "clips"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # Shown to people only; never used to build a path.
    original_filename: Mapped[str] = mapped_column(String(255))
    media_key: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    duration_s: Mapped[float | None]
    has_video: Mapped[bool] = mapped_column(default=False)
    # From the probed container (MediaSummary.media_type); None for clips from before 0012.
    media_type: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(500))
    programme: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(200))
    air_date: Mapped[date | None]
    tags: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Set when the retention setting removed the media; the transcript stays.
    media_removed_at: Mapped[datetime | None]


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    state: Mapped[JobState] = mapped_column(
        default=JobState.QUEUED,
        type_=_checked_enum(JobState, "job_state"),
        index=True,
    )
    progress: Mapped[float] = mapped_column(default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # ISO start time of each stage after decoding (which starts at started_at) of the
    # latest attempt: per-stage durations for /metrics, whichever worker ran the job.
    stage_started_at: Mapped[dict[str, Any] | None]


class TranscriptRevision(Base):
    """One saved state of a clip's transcript; the highest revision is current."""

    __tablename__ = "transcripts"
    __table_args__ = (UniqueConstraint("clip_id", "revision", name="uq_transcripts_clip_revision"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int]
    data: Mapped[dict[str, Any]]
    author: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Voice(Base):
    """A known speaker: a voice centroid with the name and title newsrooms caption."""

    __tablename__ = "voices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(String(500))
    role: Mapped[str | None] = mapped_column(String(32))
    centroid: Mapped[list[float]]
    samples: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AuditEvent(Base):
    """Who did what to the archive that cannot be undone (a clip deleted, media expired,
    a programme's glossary replaced). No foreign key: the record outlives what it
    describes."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    clip_id: Mapped[str | None] = mapped_column(String(32), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ClipAnalysis(Base):
    """Something a worker measured once on a clip's media (``kind``: waveform peaks, shot
    changes), as JSON; it goes with the clip (ON DELETE CASCADE)."""

    __tablename__ = "clip_analyses"
    __table_args__ = (UniqueConstraint("clip_id", "kind", name="uq_clip_analyses_clip_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VoiceSource(Base):
    """What a registry voice learned from one clip speaker: the print and its seconds,
    so that one clip's contribution can be taken back out of the voice."""

    __tablename__ = "voice_sources"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    voice_id: Mapped[str] = mapped_column(ForeignKey("voices.id", ondelete="CASCADE"), index=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    speaker_id: Mapped[str] = mapped_column(String(64))
    centroid: Mapped[list[float]]
    samples: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClipSpeaker(Base):
    """A clip speaker's voiceprint, kept so that naming the speaker later (an editor's
    rename) can still teach the voice registry."""

    __tablename__ = "clip_speakers"
    __table_args__ = (
        UniqueConstraint("clip_id", "speaker_id", name="uq_clip_speakers_clip_speaker"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    speaker_id: Mapped[str] = mapped_column(String(64))
    centroid: Mapped[list[float]]
    speech_s: Mapped[float]


class JobChunk(Base):
    """One chunk of a long programme's job (efir.jobs.chunks): its span, audio and result."""

    __tablename__ = "job_chunks"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    start_s: Mapped[float]
    end_s: Mapped[float]
    # The whole programme's decoded audio (raw float32, 16 kHz mono) in media storage.
    audio_key: Mapped[str] = mapped_column(String(255))
    # The VAD speech regions inside the chunk, [[start, end], ...] in programme seconds.
    speech: Mapped[list[list[float]]] = mapped_column(JSON)
    done: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    result_key: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Cut(Base):
    """A media file cut from a clip (efir.cuts): what was asked (``spec``, a CutRequest),
    where it landed (``result``: in and out points, frames, file type) and the stored
    file. A selection's rendering is a cut of the selection (``selection_id``), not of
    one clip. Goes with its clip or selection (ON DELETE CASCADE)."""

    __tablename__ = "cuts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    clip_id: Mapped[str | None] = mapped_column(
        ForeignKey("clips.id", ondelete="CASCADE"), index=True
    )
    selection_id: Mapped[str | None] = mapped_column(
        ForeignKey("selections.id", ondelete="CASCADE"), index=True
    )
    requested_by: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]]
    state: Mapped[CutState] = mapped_column(
        default=CutState.QUEUED,
        type_=_checked_enum(CutState, "cut_state"),
    )
    progress: Mapped[float] = mapped_column(default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None]
    media_key: Mapped[str | None] = mapped_column(String(255))
    subtitles_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class Selection(Base):
    """A named rough cut: quotes from any clips, in order (``SelectionQuote``)."""

    __tablename__ = "selections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SelectionQuote(Base):
    """One quote of a selection: a span of a clip, in seconds of the clip's timeline."""

    __tablename__ = "selection_quotes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    selection_id: Mapped[str] = mapped_column(
        ForeignKey("selections.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    start_s: Mapped[float]
    end_s: Mapped[float]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProgrammeGlossary(Base):
    """A programme's standing glossary (efir.programme_glossary): the terms added to the
    glossary of every clip uploaded under that programme."""

    __tablename__ = "programme_glossaries"

    # The programme's name as compared (``programme_key``: case-folded, which may
    # lengthen it, spaces collapsed).
    key: Mapped[str] = mapped_column(String(600), primary_key=True)
    programme: Mapped[str] = mapped_column(String(200))
    terms: Mapped[list[str]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[AccountRole] = _role_column("user_role")
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[AccountRole] = _role_column("api_token_role")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class UiSession(Base):
    """A signed-in browser; the cookie holds the session id, the row only its SHA-256."""

    __tablename__ = "ui_sessions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class LoginFailure(Base):
    """Consecutive failed logins for one username from one address, for the lockout."""

    __tablename__ = "login_failures"
    __table_args__ = (
        UniqueConstraint("username", "client_ip", name="uq_login_failures_username_ip"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(150))
    client_ip: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]


class WebhookSubscription(Base):
    """A clip's callback URL (efir.webhooks.delivery), signed for the token that set it."""

    __tablename__ = "webhook_subscriptions"

    clip_id: Mapped[str] = mapped_column(
        ForeignKey("clips.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(Text)
    # No foreign key: the signing secret derives from the id, and must not change to
    # another token's (or the local one) if the token row goes.
    token_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event for a callback URL and every attempt to send it; the id is its
    X-Efir-Delivery. ``state`` is pending (``next_attempt_at`` says when), delivered or
    failed (gave up)."""

    __tablename__ = "webhook_deliveries"
    # The recovery sweep's question: which pending deliveries are due.
    __table_args__ = (
        Index("ix_webhook_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(Text)
    token_id: Mapped[int | None]
    # The job's error, for job.failed.
    reason: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(default=0)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    # Per attempt: number, times, status code, error, the response's first bytes.
    attempts_log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    claimed_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def make_engine(url: str) -> Engine:
    """An engine tuned per backend: SQLite gets WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    )
    event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


def _configure_sqlite_connection(connection: DBAPIConnection, _: ConnectionPoolEntry) -> None:
    cursor = connection.cursor()
    # WAL lets the API read while a worker writes progress.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def insert_missing(
    session: Session,
    into: Table | type[Base],
    rows: Sequence[dict[str, Any]],
    *returning: Column[Any],
) -> list[Row[Any]]:
    """Insert rows (into a table or a mapped class's) whose key is not there yet (a
    concurrent writer may add it first); the ``returning`` columns of the rows this call
    inserted."""
    if not rows:
        return []
    postgres = session.get_bind().dialect.name == "postgresql"
    statement = (postgresql.insert if postgres else sqlite.insert)(into).on_conflict_do_nothing()
    if not returning:
        session.execute(statement, list(rows))
        return []
    return list(session.execute(statement.returning(*returning), list(rows)))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest migration (``alembic upgrade head``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    command.upgrade(config, "head")
