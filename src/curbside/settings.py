"""One typed settings table. Nothing else in curbside reads the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL

_REPO = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Every option can be set as an environment variable ``CURBSIDE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CURBSIDE_", extra="ignore")

    content_dir: Path = Field(default=_REPO / "content",
                              description="Folder holding kb/ packs and guides/.")
    packs: list[str] = Field(default=["thigh-groin", "general", "symcat"],
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
    index_path: Path | None = Field(
        default=None, description="The answerer's passage index (curbside index build); "
                                  "default: index.sqlite in data_dir.")

    answer_backend: Literal["extractive", "openai_compatible"] = Field(
        default="extractive",
        description="Who writes answers: 'extractive' (offline, sentences of the sources) or "
                    "'openai_compatible' (an LLM server: vLLM, Ollama, llama.cpp server).")
    llm_base_url: str | None = Field(
        default=None, description="OpenAI-compatible API base, e.g. http://127.0.0.1:11434/v1.")
    llm_model: str | None = Field(default=None, description="Model name sent to the LLM server.")
    llm_api_key: SecretStr | None = Field(default=None,
                                          description="Bearer key for the LLM server, if any.")
    llm_timeout: float = Field(default=30.0, gt=0, le=600,
                               description="Seconds to wait for the LLM server.")

    @property
    def pack_dirs(self) -> list[Path]:
        return [self.content_dir / "kb" / name for name in self.packs]

    @property
    def alias_file(self) -> Path | None:
        """Ids that name one node in several packs (used once more than one pack is loaded)."""
        path = self.content_dir / "kb" / "aliases.yaml"
        return path if path.exists() else None

    @property
    def cache_dir(self) -> Path:
        """Parsed knowledge-base files, keyed by content hash; safe to delete."""
        return self.data_dir / "cache"

    @property
    def guides_dir(self) -> Path:
        return self.content_dir / "guides"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return URL.create("sqlite", database=str(self.data_dir / "curbside.db")).render_as_string()

    @property
    def resolved_index_path(self) -> Path:
        return self.index_path or self.data_dir / "index.sqlite"
