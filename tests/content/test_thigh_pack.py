"""The thigh and groin pack: complete, clean, and every red-flag rule reaches its level."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from curbside.engine.inference import Evidence
from curbside.engine.kb import read_knowledge_base
from curbside.engine.kb.schema import RedFlagRule
from curbside.engine.session import Engine
from curbside.engine.triage import rule_applies_to, rule_fires
from curbside.evaluation import evaluate, read_vignettes
from curbside.settings import Settings
from tests.conftest import shared_path

PACK = Settings().content_dir / "kb" / "thigh-groin"
VOCABULARY = shared_path("clinical", "vocabulary")
RULES = read_knowledge_base([PACK])[0].red_flags


def test_pack_has_no_errors_or_warnings() -> None:
    _, problems = read_knowledge_base([PACK])
    assert [str(p) for p in problems] == []


def test_pack_covers_the_clinical_vocabulary(thigh_engine: Engine) -> None:
    for name, ids in (("conditions.csv", thigh_engine.kb.conditions),
                      ("findings.csv", thigh_engine.kb.findings)):
        with (VOCABULARY / name).open() as handle:
            wanted = {row["id"] for row in csv.DictReader(handle)}
        assert wanted <= set(ids), wanted - set(ids)


def minimal_patient(rule: RedFlagRule) -> tuple[float, str]:
    """A 30-year-old woman, unless the rule asks for another age or sex."""
    age = 30.0
    if rule.min_age is not None:
        age = max(age, rule.min_age)
    if rule.max_age is not None:
        age = min(age, rule.max_age)
    return age, rule.sex.value if rule.sex is not None else "female"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_each_red_flag_rule_sets_its_level(thigh_engine: Engine, rule: RedFlagRule) -> None:
    """The smallest evidence that fires the rule gives at least its level, whatever else."""
    age, sex = minimal_patient(rule)
    assert rule_applies_to(rule, age, sex)
    present = [*rule.all, *rule.any[:1], *rule.any_second[:1]]
    assert rule_fires(rule, set(present))
    result = thigh_engine.assess(age, sex, Evidence.of(present=present))
    assert result.triage.level.rank >= rule.level.rank
    assert rule.id in [r.id for r in result.triage.red_flags]


@pytest.mark.parametrize("rule", [r for r in RULES if r.level.rank >= 3],
                         ids=[r.id for r in RULES if r.level.rank >= 3])
def test_emergency_rules_win_over_a_benign_story(thigh_engine: Engine, rule: RedFlagRule) -> None:
    """Add a strongly benign picture (an exercise cramp that stretched out): still an emergency."""
    age, sex = minimal_patient(rule)
    benign = ["cramp_muscle_hardens", "stretching_relieves", "during_exercise",
              "episode_seconds_to_minutes"]
    present = list(dict.fromkeys([*rule.all, *rule.any[:1], *rule.any_second[:1], *benign]))
    result = thigh_engine.assess(age, sex, Evidence.of(present=present))
    assert result.triage.level.rank >= 3


def test_compiled_rules_match_the_rules_on_the_real_pack(thigh_engine: Engine) -> None:
    model = thigh_engine.model
    rng = np.random.default_rng(11)
    for _ in range(30):
        present = {f for f in model.finding_ids if rng.random() < 0.05}
        age, sex = float(rng.integers(0, 100)), ("male", "female")[int(rng.integers(0, 2))]
        mask = np.array([f in present for f in model.finding_ids])
        floors = model.rules.yes_floors(mask, age, sex, 0)
        for fi, finding_id in enumerate(model.finding_ids):
            expected = max((r.level.rank for r in model.kb.red_flags
                            if finding_id not in present and rule_applies_to(r, age, sex)
                            and rule_fires(r, present | {finding_id})
                            and not rule_fires(r, present)), default=0)
            assert floors[fi] == expected


SAMPLES = shared_path("clinical", "vignettes", "thigh-samples.json")


def test_thigh_samples_meet_the_issue_targets(thigh_engine: Engine) -> None:
    metrics = evaluate(thigh_engine, read_vignettes(Path(SAMPLES)))
    assert metrics["emergency_missed"] == 0
    assert metrics["top3"] >= 0.90
    assert metrics["triage_exact"] >= 0.85
    assert metrics["questions_mean"] <= 15
