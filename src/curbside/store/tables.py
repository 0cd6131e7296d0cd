"""The schema. Changes to it go through a migration in migrations/versions/."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class InterviewRow(Base):
    """A symptom-checker interview in progress or finished (anonymous until saved to an account)."""

    __tablename__ = "interviews"
    __table_args__ = (Index("ix_interviews_updated_at", "updated_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    questions_asked: Mapped[int] = mapped_column(Integer, default=0)
    finished: Mapped[bool] = mapped_column(default=False)
    triage: Mapped[str | None] = mapped_column(String(32), nullable=True)
    top_condition: Mapped[str | None] = mapped_column(String(80), nullable=True)
    kb_version: Mapped[str] = mapped_column(Text)
