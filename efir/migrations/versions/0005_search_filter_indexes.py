"""Search filters served by indexes: a speaker-key table and (role|programme, date) indexes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

from efir.search.schema import create_filter_indexes, drop_filter_indexes

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_filter_indexes(op.get_bind())


def downgrade() -> None:
    drop_filter_indexes(op.get_bind())
