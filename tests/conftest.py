from __future__ import annotations

from pathlib import Path

import pytest

from curbside.engine.session import Engine
from curbside.settings import Settings
from tests.smtp import smtp  # noqa: F401  (the SMTP sink fixture, for every test)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SNAPSHOT = REPO / "tests" / "fixtures" / "shared"


def shared_path(*parts: str) -> Path:
    """A file or folder of ../shared when the clone sits beside it, else the snapshot committed in
    tests/fixtures/shared (so a clone anywhere runs every test that needs it)."""
    live = SHARED.joinpath(*parts)
    return live if live.exists() else SNAPSHOT.joinpath(*parts)


@pytest.fixture(scope="session")
def thigh_engine() -> Engine:
    return Engine.from_packs([Settings().content_dir / "kb" / "thigh-groin"])
