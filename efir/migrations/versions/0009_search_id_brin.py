"""Search on PostgreSQL: a BRIN index on segment ids, so an id window costs a few pages.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

from efir.search.schema import create_id_window_index, drop_id_window_index

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_id_window_index(op.get_bind())


def downgrade() -> None:
    drop_id_window_index(op.get_bind())
