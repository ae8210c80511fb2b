"""Clips remember the media type of their probed container (efir.media.probe), which the
media route sends, instead of guessing one from the uploader's file name.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Clips from before stay NULL and are served as application/octet-stream.
    op.add_column("clips", sa.Column("media_type", sa.String(100), nullable=True))


def downgrade() -> None:
    op.drop_column("clips", "media_type")
