"""One typed settings table. Nothing else in curbside reads the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL

_REPO = Path(__file__).resolve().parents[2]
# public on purpose: only accepted when environment is "development" (see secret_key_problem)
DEVELOPMENT_SECRET_KEY = "curbside-development-secret-key-do-not-use-in-production"
MIN_SECRET_KEY_LENGTH = 32


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

    environment: Literal["development", "test", "production"] = Field(
        default="development",
        description="'development' allows the built-in secret key and writes mail to data_dir/outbox; "
                    "'test' and 'production' refuse to start without a real secret_key.")
    secret_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRET_KEY), repr=False,
        description="Signs anonymous CSRF tokens. At least 32 characters outside development: "
                    "python -c 'import secrets; print(secrets.token_urlsafe(48))'.")
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60,
                                      description="A web session ends after this long without a request.")
    session_absolute_hours: int = Field(
        default=12, ge=1, le=24 * 30,
        description="A web session ends this long after sign-in, active or not.")
    cookie_secure: bool | None = Field(
        default=None,
        description="Mark the session cookie Secure; default: when the request came over https.")
    public_url: str = Field(default="http://127.0.0.1:8000",
                            description="Where people reach curbside: the base of links in mail.")
    smtp_host: str | None = Field(
        default=None, description="SMTP server for mail (password resets); unset: mail is written as "
                                  ".eml files to data_dir/outbox instead (development).")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = Field(default=None, repr=False)
    smtp_starttls: bool = Field(default=True, description="Upgrade the SMTP connection with STARTTLS.")
    mail_from: str = Field(default="curbside <no-reply@localhost>", description="The From of our mail.")
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024,
                                      description="Largest record a patient may attach to a "
                                                  "second-opinion case.")
    attachments_per_case: int = Field(default=10, ge=1, le=100, description="Attachments per case, at most.")
    consult_turnaround_days: int = Field(default=5, ge=1, le=30,
                                         description="Target for a second opinion, in working days.")

    def secret_key_problem(self) -> str | None:
        """Why curbside must not start with this secret key, or None when it may."""
        if self.environment == "development":
            return None
        key = self.secret_key.get_secret_value()
        if key == DEVELOPMENT_SECRET_KEY:
            return (f"CURBSIDE_SECRET_KEY is the built-in development key, which is public; in "
                    f"{self.environment} set a random secret of at least {MIN_SECRET_KEY_LENGTH} characters")
        if len(key) < MIN_SECRET_KEY_LENGTH:
            return (f"CURBSIDE_SECRET_KEY has {len(key)} characters; in {self.environment} it needs at "
                    f"least {MIN_SECRET_KEY_LENGTH}")
        return None

    @property
    def outbox_dir(self) -> Path:
        """Where development mail goes when no SMTP host is set."""
        return self.data_dir / "outbox"

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
