"""Triage: red flags win, and otherwise the Bayes decision under the loss matrix."""

from __future__ import annotations

import numpy as np
import pytest

from curbside.engine.inference import Evidence, posterior
from curbside.engine.kb.schema import TriageLevel
from curbside.engine.model import Model
from curbside.engine.triage import LOSS, decide, triage


def reference_decision(probabilities: list[float], levels: list[int], floor: int = 0) -> int:
    costs = [sum(p * LOSS[a][t] for p, t in zip(probabilities, levels, strict=True))
             for a in range(5)]
    return min(range(floor, 5), key=lambda a: costs[a])


def test_decision_minimises_expected_loss(tiny_model: Model) -> None:
    levels = tiny_model.triage_rank.tolist()
    rng = np.random.default_rng(7)
    for _ in range(200):
        p = rng.dirichlet(np.ones(len(levels)))
        assert decide(tiny_model, p) == reference_decision(p.tolist(), levels)


def test_a_ten_percent_chance_of_a_same_day_condition_is_not_self_care(tiny_model: Model) -> None:
    order = tiny_model.condition_ids
    p = np.zeros(len(order))
    p[order.index("cond_a")] = 0.9  # self-care
    p[order.index("cond_b")] = 0.1  # consultation_24
    assert decide(tiny_model, p) > 0


def test_certain_benign_condition_is_self_care(tiny_model: Model) -> None:
    p = np.zeros(len(tiny_model.condition_ids))
    p[tiny_model.condition_ids.index("cond_a")] = 1.0
    assert decide(tiny_model, p) == 0


def test_red_flag_wins_over_a_benign_differential(tiny_model: Model) -> None:
    evidence = Evidence.of(present=["f1", "f3"], absent=["f2"])
    # force a benign differential: the rule alone must set the level
    p = np.zeros(len(tiny_model.condition_ids))
    p[tiny_model.condition_ids.index("cond_a")] = 1.0
    result = triage(tiny_model, 40, "male", evidence, p)
    assert result.level is TriageLevel.emergency
    assert [r.id for r in result.red_flags] == ["f3_is_an_emergency"]
    assert result.reasons[0] == "Finding three needs emergency care now."


def test_no_red_flag_no_floor(tiny_model: Model) -> None:
    evidence = Evidence.of(present=["f1"], absent=["f3"])
    result = triage(tiny_model, 40, "female", evidence,
                    posterior(tiny_model, 40, "female", evidence))
    assert result.red_flags == ()
    assert result.level is TriageLevel.self_care


@pytest.mark.parametrize("level", range(5))
def test_loss_is_zero_only_on_the_diagonal(level: int) -> None:
    assert LOSS[level][level] == 0
    assert all(LOSS[a][level] > 0 for a in range(5) if a != level)


def test_compiled_rules_agree_with_the_rule_definitions(tiny_model: Model) -> None:
    """yes_floors (array form) against a direct reading of each rule."""
    from curbside.engine.triage import rule_applies_to, rule_fires

    rng = np.random.default_rng(3)
    findings = tiny_model.finding_ids
    for _ in range(50):
        present = {f for f in findings if rng.random() < 0.3}
        age, sex = float(rng.integers(0, 100)), ("male", "female")[int(rng.integers(0, 2))]
        mask = np.array([f in present for f in findings])
        floors = tiny_model.rules.yes_floors(mask, age, sex, 0)
        for fi, finding_id in enumerate(findings):
            expected = 0
            for rule in tiny_model.kb.red_flags:
                if (finding_id not in present and rule_applies_to(rule, age, sex)
                        and rule_fires(rule, present | {finding_id})
                        and not rule_fires(rule, present)):
                    expected = max(expected, rule.level.rank)
            assert floors[fi] == expected, (finding_id, present)
