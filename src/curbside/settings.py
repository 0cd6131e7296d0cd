"""One typed settings table. Nothing else in curbside reads the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from sqlalchemy.engine import URL
from pydantic_settings import BaseSettings, SettingsConfigDict

_REPO = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Every option can be set as an environment variable ``CURBSIDE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CURBSIDE_", extra="ignore")

    content_dir: Path = Field(default=_REPO / "content",
                              description="Folder holding kb/ packs and guides/.")
    packs: list[str] = Field(default=["thigh-groin"],
                             description="Knowledge-base packs to load, by folder name under kb/.")
    max_questions: int = Field(default=30, ge=1, le=100)

    data_dir: Path = Field(default=_REPO / "data",
                           description="Where the SQLite database and uploads live.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite in data_dir. "
                    "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024,
                                description="Largest request body accepted.")
    rate_limit_per_minute: int = Field(
        default=600, ge=0, description="Requests per minute per client address; 0 turns it off.")

    @property
    def pack_dirs(self) -> list[Path]:
        return [self.content_dir / "kb" / name for name in self.packs]

    @property
    def alias_file(self) -> Path | None:
        """Ids that name one node in several packs (used once more than one pack is loaded)."""
        path = self.content_dir / "kb" / "aliases.yaml"
        return path if path.exists() else None

    @property
    def guides_dir(self) -> Path:
        return self.content_dir / "guides"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return URL.create("sqlite", database=str(self.data_dir / "curbside.db")).render_as_string()
