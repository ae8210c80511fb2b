"""Search by sound: a preposition or «не» written apart from the word it begins.

The recogniser writes «на прямую» for «напрямую» and «не простым» for «непростым».
Each clip's indexed segments get their ``lemmas`` anew from the clip's latest
transcript revision, so such pairs carry the joined word's lemma as a heard lemma
(``efir.search.heard``); the schema does not change. Downgrade leaves the terms as
they are: a heard lemma matches only a sound-alike search.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op
from sqlalchemy.orm import Session

from efir.search.indexing import relemmatise_latest_revisions

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    relemmatise_latest_revisions(Session(bind=op.get_bind()))


def downgrade() -> None:
    pass
