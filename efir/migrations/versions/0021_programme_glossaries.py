"""Programme glossaries: the terms added to every upload of a programme
(efir.programme_glossary).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "programme_glossaries",
        sa.Column("key", sa.String(600), primary_key=True),
        sa.Column("programme", sa.String(200), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("programme_glossaries")
