from __future__ import annotations

from pathlib import Path

import pytest

from curbside.engine.kb import KnowledgeBase, load_knowledge_base
from curbside.engine.model import Model, compile_model

TINY = Path(__file__).parent / "fixtures" / "tiny"


@pytest.fixture(scope="session")
def tiny_kb() -> KnowledgeBase:
    return load_knowledge_base([TINY])


@pytest.fixture(scope="session")
def tiny_model(tiny_kb: KnowledgeBase) -> Model:
    return compile_model(tiny_kb)
