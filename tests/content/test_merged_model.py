"""The default model (thigh-groin + general + SymCAT, merged) on the clinical team's vignettes."""

from __future__ import annotations

import pytest

from curbside.engine.inference import Evidence
from curbside.engine.kb import read_knowledge_base
from curbside.engine.kb.schema import RedFlagRule
from curbside.engine.session import Engine
from curbside.evaluation import evaluate, read_vignettes
from curbside.settings import Settings
from tests.conftest import shared_path
from tests.content.test_thigh_pack import minimal_patient

VIGNETTES = shared_path("clinical", "vignettes")


@pytest.fixture(scope="module")
def merged() -> Engine:
    settings = Settings()
    return Engine.from_packs(settings.pack_dirs, alias_file=settings.alias_file)


def test_default_packs_merge_without_errors() -> None:
    settings = Settings()
    kb, problems = read_knowledge_base(settings.pack_dirs, settings.alias_file)
    assert [str(p) for p in problems if p.severity == "error"] == []
    assert len(kb.conditions) > 800


def test_levine_general_vignettes(merged: Engine) -> None:
    metrics = evaluate(merged, read_vignettes(VIGNETTES / "levine48.json"))
    assert metrics["emergency_missed"] == 0
    assert metrics["top3"] >= 0.75
    assert metrics["triage_exact"] >= 0.70


def test_thigh_results_hold_in_the_merged_model(merged: Engine) -> None:
    metrics = evaluate(merged, read_vignettes(VIGNETTES / "thigh-samples.json"))
    assert metrics["emergency_missed"] == 0
    assert metrics["top3"] >= 0.90
    assert metrics["triage_exact"] >= 0.85
    assert metrics["questions_mean"] <= 15


def test_a_pop_with_bruising_and_swelling_in_sport_is_a_strain_not_a_cramp(merged: Engine) -> None:
    # Told as "after football", the injury must not be read as an exercise cramp: cramps do not
    # bruise or swell, and a strain's pain is often noticed once the muscle cools after the match.
    session = merged.start(34, "male", text="sudden pain in my inner thigh after football, a pop, "
                                             "bruising and swelling")
    ranked = [c.id for c in session.result().conditions]
    assert ranked[0] == "adductor_strain", ranked[:3]


_SETTINGS = Settings()
_RULES = read_knowledge_base(_SETTINGS.pack_dirs, _SETTINGS.alias_file)[0].red_flags


@pytest.mark.parametrize("rule", _RULES, ids=[r.id for r in _RULES])
def test_every_red_flag_rule_of_every_pack_sets_its_level(merged: Engine, rule: RedFlagRule) -> None:
    """In the merged model too, the smallest evidence that fires a rule gives at least its level."""
    age, sex = minimal_patient(rule)
    present = list(dict.fromkeys([*rule.all, *rule.any[:1], *rule.any_second[:1]]))
    result = merged.assess(age, sex, Evidence.of(present=present))
    assert result.triage.level.rank >= rule.level.rank
    assert rule.id in [r.id for r in result.triage.red_flags]
