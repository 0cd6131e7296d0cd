"""How urgently to get care: red-flag rules first, then the risk of the whole differential.

1. Red flags always win. Each rule of the knowledge base (a finding or a combination) sets a minimum
   level; the most urgent fired rule is a floor no probability can lower.
2. Otherwise the level is the Bayes decision under an asymmetric loss: the level ``a`` that
   minimises ``sum_c P(c | evidence) * LOSS[a][triage(c)]``. Sending someone with a same-day
   problem home costs far more than an unneeded appointment, so a 10% chance of a DVT is enough to
   leave self-care behind. docs/model.md shows the thresholds this loss implies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curbside.engine.inference import Evidence
from curbside.engine.kb.schema import TRIAGE_ORDER, RedFlagRule, TriageLevel
from curbside.engine.model import FloatArray, Model

# LOSS[action][true level], levels ordered self_care, consultation, consultation_24, emergency,
# emergency_ambulance. Below the diagonal: over-triage (cost of an unneeded visit, rising with the
# resources used); above: under-triage (cost of delay, rising steeply at the emergency step).
LOSS: FloatArray = np.array(
    [
        # SC    C     C24   E     EA      <- true level
        [0.0, 2.0, 15.0, 40.0, 50.0],  # action: self_care
        [1.0, 0.0, 4.0, 25.0, 35.0],  # consultation
        [2.0, 1.0, 0.0, 10.0, 15.0],  # consultation_24
        [6.0, 5.0, 4.0, 0.0, 1.0],  # emergency
        [8.0, 7.0, 6.0, 1.0, 0.0],  # emergency_ambulance
    ]
)


@dataclass(frozen=True)
class FiredRule:
    id: str
    level: TriageLevel
    message: str
    findings: tuple[str, ...]
    source: tuple[str, ...]


@dataclass(frozen=True)
class TriageResult:
    level: TriageLevel
    red_flags: tuple[FiredRule, ...]
    level_probability: dict[TriageLevel, float]  # P(the condition's own level is at least this)
    reasons: tuple[str, ...]
    from_red_flag: bool


def rule_applies_to(rule: RedFlagRule, age: float, sex: str) -> bool:
    if rule.sex is not None and rule.sex.value != sex:
        return False
    if rule.min_age is not None and age < rule.min_age:
        return False
    return not (rule.max_age is not None and age > rule.max_age)


def rule_fires(rule: RedFlagRule, present: set[str]) -> bool:
    if not all(f in present for f in rule.all):
        return False
    if rule.any and not any(f in present for f in rule.any):
        return False
    return not (rule.any_second and not any(f in present for f in rule.any_second))


def fired_rules(model: Model, age: float, sex: str, evidence: Evidence) -> list[FiredRule]:
    present = set(evidence.present)
    mask = np.zeros(len(model.finding_ids), dtype=bool)
    mask[[model.finding_index[f] for f in present]] = True
    fired = []
    for ri in np.flatnonzero(model.rules.firing(mask, age, sex)):
        rule = model.kb.red_flags[ri]
        fired.append(FiredRule(
            id=rule.id, level=rule.level, message=rule.message,
            findings=tuple(f for f in rule.findings if f in present), source=tuple(rule.source),
        ))
    fired.sort(key=lambda r: -r.level.rank)
    return fired


def condition_loss(model: Model, floor: int = 0) -> FloatArray:
    """[C, actions]: the loss of each action if each condition is the true one.

    ``floor`` raises every condition's true level to at least that level: what a fired red flag
    tells us that the condition model alone does not know.
    """
    true_levels = np.maximum(model.triage_rank, floor)
    return LOSS[:, true_levels].T.copy()


def decide(model: Model, probabilities: FloatArray, floor: int = 0) -> int:
    expected = probabilities @ condition_loss(model)
    expected[:floor] = np.inf
    return int(np.argmin(expected))


def triage(model: Model, age: float, sex: str, evidence: Evidence,
           probabilities: FloatArray) -> TriageResult:
    rules = fired_rules(model, age, sex, evidence)
    floor = max((r.level.rank for r in rules), default=0)
    action = decide(model, probabilities, floor)
    level_probability = {
        level: float(probabilities[model.triage_rank >= rank].sum())
        for rank, level in enumerate(TRIAGE_ORDER)
    }
    reasons: list[str] = [r.message for r in rules]
    level = TRIAGE_ORDER[action]
    if action > floor or not rules:
        urgent = [
            (model.kb.conditions[model.condition_ids[i]].name, probabilities[i])
            for i in np.argsort(-probabilities)[:10]
            if model.triage_rank[i] >= action and probabilities[i] >= 0.02
        ]
        if urgent and action > 0:
            named = ", ".join(f"{name} ({p:.0%})" for name, p in urgent[:3])
            reasons.append(
                f"The possible causes include some that need this level of care: {named}."
            )
        elif action == 0:
            reasons.append("The likely causes can usually be managed at home; "
                           "see a doctor if it does not improve or gets worse.")
    return TriageResult(
        level=level,
        red_flags=tuple(rules),
        level_probability=level_probability,
        reasons=tuple(reasons),
        from_red_flag=bool(rules) and action == floor,
    )
