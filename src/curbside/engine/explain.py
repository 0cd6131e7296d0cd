"""Why a condition is suggested: each answered finding's weight for or against it.

The weight of a finding is its likelihood ratio against the background: how much more (or less)
often people with this condition report it than people whose complaint has another cause. Under the
naive-Bayes model these ratios multiply, so their logarithms add up to the evidence for the
condition; the age and sex factor of the prior is reported beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

from curbside.engine.inference import Evidence
from curbside.engine.kb.schema import age_band
from curbside.engine.model import Model

#: Factors closer to 1 than this are left out: they neither support nor oppose.
_NEUTRAL = 1.1


@dataclass(frozen=True)
class Factor:
    finding_id: str
    name: str
    present: bool
    likelihood_ratio: float
    sources: tuple[str, ...]
    estimate: bool
    from_background: bool  # True: the pack gives no number for this pair; the background rate is used


@dataclass(frozen=True)
class Explanation:
    condition_id: str
    supporting: tuple[Factor, ...]
    opposing: tuple[Factor, ...]
    age_sex_factor: float
    summary: str


def explain(model: Model, condition_id: str, age: float, sex: str,
            evidence: Evidence) -> Explanation:
    ci = model.condition_index[condition_id]
    kb = model.kb
    factors: list[Factor] = []
    for finding_id in [*evidence.present, *evidence.absent]:
        fi = model.finding_index[finding_id]
        present = finding_id in evidence.present
        p = float(model.likelihood[ci, fi])
        background = float(model.background[fi])
        ratio = p / background if present else (1 - p) / (1 - background)
        if max(ratio, 1 / ratio) < _NEUTRAL:
            continue
        likelihood = kb.likelihoods.get(condition_id, {}).get(finding_id)
        number = likelihood if likelihood is not None else kb.findings[finding_id].background
        factors.append(Factor(
            finding_id=finding_id,
            name=kb.findings[finding_id].name,
            present=present,
            likelihood_ratio=ratio,
            sources=tuple(number.source),
            estimate=number.estimate is not None,
            from_background=likelihood is None,
        ))
    supporting = tuple(sorted((f for f in factors if f.likelihood_ratio > 1),
                              key=lambda f: -f.likelihood_ratio))
    opposing = tuple(sorted((f for f in factors if f.likelihood_ratio < 1),
                            key=lambda f: f.likelihood_ratio))
    prior = kb.conditions[condition_id].prior
    factor = 1.0
    if prior.age is not None:
        factor *= prior.age.values.get(age_band(age), 1.0)
    if prior.sex is not None:
        factor *= prior.sex.values.get(sex, 1.0)
    return Explanation(
        condition_id=condition_id,
        supporting=supporting,
        opposing=opposing,
        age_sex_factor=factor,
        summary=_summary(supporting, opposing, factor),
    )


def _summary(supporting: tuple[Factor, ...], opposing: tuple[Factor, ...], factor: float) -> str:
    parts: list[str] = []
    if supporting:
        names = [_phrase(f) for f in supporting[:4]]
        parts.append("Suggested by " + _join(names) + ".")
    if opposing:
        names = [_phrase(f) for f in opposing[:3]]
        parts.append("Less likely because of " + _join(names) + ".")
    if factor >= 2:
        parts.append("More common at your age and sex.")
    elif 0 < factor <= 0.5:
        parts.append("Less common at your age and sex.")
    return " ".join(parts) or "No answer so far points clearly for or against it."


def _phrase(factor: Factor) -> str:
    name = factor.name[0].lower() + factor.name[1:]
    return name if factor.present else f"no {name}"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
