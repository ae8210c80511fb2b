"""Search index: segment rows with clip filter fields, lemma terms, FTS5 or tsvector.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

from efir.search.schema import create_search_schema, drop_search_schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_search_schema(op.get_bind())


def downgrade() -> None:
    drop_search_schema(op.get_bind())
