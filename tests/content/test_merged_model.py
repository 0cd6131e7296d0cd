"""The default model (thigh-groin + general + SymCAT, merged) on the clinical team's vignettes."""

from __future__ import annotations

import pytest

from curbside.engine.kb import read_knowledge_base
from curbside.engine.session import Engine
from curbside.evaluation import evaluate, read_vignettes
from curbside.settings import Settings
from tests.conftest import SHARED

VIGNETTES = SHARED / "clinical" / "vignettes"


@pytest.fixture(scope="module")
def merged() -> Engine:
    settings = Settings()
    return Engine.from_packs(settings.pack_dirs, alias_file=settings.alias_file)


def test_default_packs_merge_without_errors() -> None:
    settings = Settings()
    kb, problems = read_knowledge_base(settings.pack_dirs, settings.alias_file)
    assert [str(p) for p in problems if p.severity == "error"] == []
    assert len(kb.conditions) > 800


@pytest.mark.skipif(not VIGNETTES.exists(), reason="shared vignettes not present")
def test_levine_general_vignettes(merged: Engine) -> None:
    metrics = evaluate(merged, read_vignettes(VIGNETTES / "levine48.json"))
    assert metrics["emergency_missed"] == 0
    assert metrics["top3"] >= 0.75
    assert metrics["triage_exact"] >= 0.70


@pytest.mark.skipif(not VIGNETTES.exists(), reason="shared vignettes not present")
def test_thigh_results_hold_in_the_merged_model(merged: Engine) -> None:
    metrics = evaluate(merged, read_vignettes(VIGNETTES / "thigh-samples.json"))
    assert metrics["emergency_missed"] == 0
    assert metrics["top3"] >= 0.90
    assert metrics["triage_exact"] >= 0.85
    assert metrics["questions_mean"] <= 15
