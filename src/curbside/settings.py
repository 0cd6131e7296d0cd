"""One typed settings table. Nothing else in curbside reads the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The repository's content folder, found from this file so a checkout works from any directory.
_REPO_CONTENT = Path(__file__).resolve().parents[2] / "content"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CURBSIDE_", extra="ignore")

    content_dir: Path = Field(default=_REPO_CONTENT,
                              description="Folder holding kb/ packs and guides/.")
    packs: list[str] = Field(default=["thigh-groin"],
                             description="Knowledge-base packs to load, by folder name under kb/.")
    max_questions: int = Field(default=30, ge=1, le=100)

    @property
    def pack_dirs(self) -> list[Path]:
        return [self.content_dir / "kb" / name for name in self.packs]
