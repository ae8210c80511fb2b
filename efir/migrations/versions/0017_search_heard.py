"""Search by sound: words heard across word boundaries stored with each segment's terms.

Every indexed segment's ``lemmas`` is written anew with the lemmas of the real words
its pairs of adjacent tokens may have been misheard from (``efir.search.heard``);
the schema does not change. Downgrade writes the plain terms back.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op
from sqlalchemy.orm import Session

from efir.search.indexing import lemmas_of, relemmatise
from efir.search.lemmas import term_of, words

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    relemmatise(Session(bind=op.get_bind()), lemmas_of)


def downgrade() -> None:
    relemmatise(Session(bind=op.get_bind()), lambda text: " ".join(map(term_of, words(text))))
