"""Storage: SQLAlchemy tables, repositories, Alembic migrations. SQLite by default, PostgreSQL by URL."""

from curbside.store.database import Database
from curbside.store.interviews import InterviewRecord, InterviewRepository

__all__ = ["Database", "InterviewRecord", "InterviewRepository"]
