"""Search by sound: the real words the recogniser doubted, marked in each segment's terms.

``search_vocab`` gains ``doubted``. Then each clip's indexed segments get their
``lemmas`` anew from the clip's latest transcript revision, whose words carry the
recogniser's probabilities: a real word it doubted carries
``efir.search.heard.DOUBT_MARK``, and its form is flagged and given the vocabulary
variants a doubted word is looked up by. Downgrade writes the terms from the text
alone, as 0017 left them (the variants stay: without the marks they match nothing
more), and drops the column.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op
from sqlalchemy.orm import Session

from efir.search.indexing import lemmas_of, relemmatise, relemmatise_latest_revisions
from efir.search.schema import add_doubted_column, drop_doubted_column

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    add_doubted_column(connection)
    relemmatise_latest_revisions(Session(bind=connection))


def downgrade() -> None:
    connection = op.get_bind()
    relemmatise(Session(bind=connection), lemmas_of)
    drop_doubted_column(connection)
