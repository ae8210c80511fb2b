"""Search by sound: the vocabulary of indexed word forms, their phonetic keys and variants.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import select
from sqlalchemy.orm import Session

from efir.search.indexing import add_forms, forms_of
from efir.search.schema import create_vocab_tables, drop_vocab_tables, search_segments

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Segments read per batch while filling the vocabulary from what is indexed already.
_BATCH = 5000


def upgrade() -> None:
    connection = op.get_bind()
    create_vocab_tables(connection)
    session = Session(bind=connection)
    last_id = 0
    while True:
        batch = session.execute(
            select(search_segments.c.id, search_segments.c.text)
            .where(search_segments.c.id > last_id)
            .order_by(search_segments.c.id)
            .limit(_BATCH)
        ).all()
        if not batch:
            break
        add_forms(session, forms_of(row.text for row in batch))
        last_id = batch[-1].id


def downgrade() -> None:
    drop_vocab_tables(op.get_bind())
