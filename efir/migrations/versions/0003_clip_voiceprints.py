"""Per-clip speaker voiceprints, so a speaker named later can still teach the registry.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clip_speakers",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "clip_id",
            sa.String(length=32),
            sa.ForeignKey("clips.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("speaker_id", sa.String(length=64), nullable=False),
        sa.Column("centroid", sa.JSON(), nullable=False),
        sa.Column("speech_s", sa.Double(), nullable=False),
        sa.UniqueConstraint("clip_id", "speaker_id", name="uq_clip_speakers_clip_speaker"),
    )


def downgrade() -> None:
    op.drop_table("clip_speakers")
