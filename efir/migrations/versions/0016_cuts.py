"""Cuts and selections: media cut from clips as worker jobs, and named rough cuts of
quotes from several clips (efir.cuts).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_CUT_STATES = ("queued", "running", "done", "failed")


def upgrade() -> None:
    op.create_table(
        "selections",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "selection_quotes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "selection_id",
            sa.String(32),
            sa.ForeignKey("selections.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "clip_id",
            sa.String(32),
            sa.ForeignKey("clips.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("start_s", sa.Double(), nullable=False),
        sa.Column("end_s", sa.Double(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "cuts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "clip_id",
            sa.String(32),
            sa.ForeignKey("clips.id", ondelete="CASCADE"),
            nullable=True,
            index=True,
        ),
        sa.Column(
            "selection_id",
            sa.String(32),
            sa.ForeignKey("selections.id", ondelete="CASCADE"),
            nullable=True,
            index=True,
        ),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                *_CUT_STATES,
                name="cut_state",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("progress", sa.Double(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("media_key", sa.String(255), nullable=True),
        sa.Column("subtitles_key", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("cuts")
    op.drop_table("selection_quotes")
    op.drop_table("selections")
