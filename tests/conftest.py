from __future__ import annotations

from pathlib import Path

import pytest

from curbside.engine.session import Engine
from curbside.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def thigh_engine() -> Engine:
    return Engine.from_packs([Settings().content_dir / "kb" / "thigh-groin"])
