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

import json

from alembic import op
from sqlalchemy import text
from sqlalchemy.orm import Session

from efir.search.indexing import lemmas_of, relemmatise, relemmatise_clip
from efir.search.schema import add_doubted_column, drop_doubted_column
from efir.transcripts.model import Transcript

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    add_doubted_column(connection)
    session = Session(bind=connection)
    # One clip's transcript at a time: an archive's revisions do not fit in memory.
    latest = session.execute(
        text("SELECT clip_id, max(revision) AS revision FROM transcripts GROUP BY clip_id")
    ).all()
    for clip_id, revision in latest:
        data = session.execute(
            text("SELECT data FROM transcripts WHERE clip_id = :clip_id AND revision = :revision"),
            {"clip_id": clip_id, "revision": revision},
        ).scalar_one()
        # A JSON column reads back as text on SQLite through a plain statement.
        stored = json.loads(data) if isinstance(data, str) else data
        relemmatise_clip(session, clip_id, Transcript.from_dict(stored))


def downgrade() -> None:
    connection = op.get_bind()
    relemmatise(Session(bind=connection), lemmas_of)
    drop_doubted_column(connection)
