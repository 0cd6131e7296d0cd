"""Second opinions: doctors, cases, their questions, attachments, reviews, follow-ups and history.

Revision ID: 0003_consults
Revises: 0002_accounts
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_consults"
down_revision = "0002_accounts"
branch_labels = None
depends_on = None


def _case_fk(table: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("case_id", sa.String(32),
                     sa.ForeignKey("cases.id", ondelete="CASCADE", name=f"fk_{table}_case_id_cases"),
                     nullable=False)


def upgrade() -> None:
    op.create_table(
        "doctors",
        sa.Column("user_id", sa.String(32),
                  sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_doctors_user_id_users"),
                  primary_key=True),
        sa.Column("specialty", sa.String(40), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("licence_number", sa.String(64), nullable=False),
        sa.Column("licence_authority", sa.String(200), nullable=False),
        sa.Column("verification", sa.String(16), nullable=False),
        sa.Column("verified_by", sa.String(32), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepting", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("capacity", sa.Integer(), nullable=False, server_default="10"),
        sa.Column("fictional", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_doctors_specialty", "doctors", ["specialty"])
    op.create_table(
        "cases",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("patient_id", sa.String(32),
                  sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_cases_patient_id_users"),
                  nullable=False),
        sa.Column("interview_id", sa.String(32),
                  sa.ForeignKey("interviews.id", ondelete="CASCADE", name="fk_cases_interview_id_interviews"),
                  nullable=False),
        sa.Column("specialty", sa.String(40), nullable=False),
        sa.Column("suggested_specialty", sa.String(40), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("doctor_id", sa.String(32),
                  sa.ForeignKey("doctors.user_id", ondelete="SET NULL", name="fk_cases_doctor_id_doctors"),
                  nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("region", sa.String(2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
    )
    op.create_index("ix_cases_patient_id", "cases", ["patient_id"])
    op.create_index("ix_cases_doctor_id", "cases", ["doctor_id"])
    op.create_index("ix_cases_state", "cases", ["state"])
    op.create_table(
        "case_questions",
        sa.Column("id", sa.String(32), primary_key=True),
        _case_fk("case_questions"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_case_questions_case_id", "case_questions", ["case_id"])
    op.create_table(
        "case_attachments",
        sa.Column("id", sa.String(32), primary_key=True),
        _case_fk("case_attachments"),
        sa.Column("stored_name", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_by", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_case_attachments_case_id", "case_attachments", ["case_id"])
    op.create_table(
        "case_reviews",
        sa.Column("case_id", sa.String(32),
                  sa.ForeignKey("cases.id", ondelete="CASCADE", name="fk_case_reviews_case_id_cases"),
                  primary_key=True),
        sa.Column("doctor_id", sa.String(32), nullable=True),
        sa.Column("verdicts", sa.JSON(), nullable=False),
        sa.Column("assessment", sa.Text(), nullable=False),
        sa.Column("recommendations", sa.JSON(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("signer_name", sa.String(200), nullable=True),
        sa.Column("signer_licence", sa.String(300), nullable=True),
        sa.Column("signer_specialty", sa.String(40), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "case_followups",
        sa.Column("id", sa.String(32), primary_key=True),
        _case_fk("case_followups"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_case_followups_case_id", "case_followups", ["case_id"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _case_fk("case_events"),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(32), nullable=True),
        sa.Column("party", sa.String(16), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("from_state", sa.String(32), nullable=True),
        sa.Column("to_state", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])


def downgrade() -> None:
    for table in ("case_events", "case_followups", "case_attachments", "case_questions"):
        op.drop_index(f"ix_{table}_case_id", table_name=table)
        op.drop_table(table)
    op.drop_table("case_reviews")
    op.drop_index("ix_cases_state", table_name="cases")
    op.drop_index("ix_cases_doctor_id", table_name="cases")
    op.drop_index("ix_cases_patient_id", table_name="cases")
    op.drop_table("cases")
    op.drop_index("ix_doctors_specialty", table_name="doctors")
    op.drop_table("doctors")
