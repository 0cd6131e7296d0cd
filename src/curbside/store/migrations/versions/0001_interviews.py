"""Interviews of the symptom checker.

Revision ID: 0001_interviews
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_interviews"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interviews",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("questions_asked", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("finished", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("triage", sa.String(32), nullable=True),
        sa.Column("top_condition", sa.String(80), nullable=True),
        sa.Column("kb_version", sa.Text(), nullable=False),
    )
    op.create_index("ix_interviews_updated_at", "interviews", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_interviews_updated_at", table_name="interviews")
    op.drop_table("interviews")
