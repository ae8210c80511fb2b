"""Accounts: users, API tokens, UI sessions, failed-login counters; who uploaded a clip.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FK_CLIPS_UPLOADED_BY = "fk_clips_uploaded_by_user_id"
ROLES = ("uploader", "editor", "archivist", "admin")


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _role(constraint_name: str) -> sa.Column[object]:
    return sa.Column(
        "role",
        sa.Enum(*ROLES, name=constraint_name, native_enum=False, create_constraint=True, length=16),
        nullable=False,
    )


def _user_id() -> sa.Column[object]:
    return sa.Column(
        "user_id",
        sa.Integer(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(length=150), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        _role("user_role"),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        _timestamp("created_at"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        _user_id(),
        _role("api_token_role"),
        _timestamp("created_at"),
        _timestamp("last_used_at", nullable=True),
        _timestamp("revoked_at", nullable=True),
    )
    op.create_table(
        "ui_sessions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("session_hash", sa.String(length=64), nullable=False, unique=True),
        _user_id(),
        _timestamp("created_at"),
        _timestamp("expires_at"),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        _timestamp("last_failed_at"),
        _timestamp("locked_until", nullable=True),
        sa.UniqueConstraint("username", "client_ip", name="uq_login_failures_username_ip"),
    )
    _add_uploaded_by()
    op.create_index("ix_clips_uploaded_by_user_id", "clips", ["uploaded_by_user_id"])


def _add_uploaded_by() -> None:
    # Never batch mode on `clips`: rebuilding it on SQLite drops the table that jobs and
    # transcripts cascade from. SQLite takes an inline REFERENCES in a plain ADD COLUMN,
    # but SQLAlchemy cannot reflect an ON DELETE there, so there is none on either backend:
    # users are disabled, never deleted, and keep their uploads attributed.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE clips ADD COLUMN uploaded_by_user_id INTEGER REFERENCES users (id)")
        return
    op.add_column("clips", sa.Column("uploaded_by_user_id", sa.Integer(), nullable=True))
    op.create_foreign_key(FK_CLIPS_UPLOADED_BY, "clips", "users", ["uploaded_by_user_id"], ["id"])


def downgrade() -> None:
    op.drop_index("ix_clips_uploaded_by_user_id", table_name="clips")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(FK_CLIPS_UPLOADED_BY, "clips", type_="foreignkey")
    op.drop_column("clips", "uploaded_by_user_id")
    op.drop_table("login_failures")
    op.drop_table("ui_sessions")
    op.drop_table("api_tokens")
    op.drop_table("users")
