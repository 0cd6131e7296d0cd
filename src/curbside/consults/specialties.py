"""The specialty vocabulary and the suggestion of a specialty for a case.

Every knowledge-base condition names a referral ``specialty``; a test checks that each one used by
the packs is in :data:`SPECIALTIES`, so a new pack cannot route cases to a specialty nobody knows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

SPECIALTIES: dict[str, str] = {
    "allergy_immunology": "Allergy and immunology",
    "cardiology": "Cardiology",
    "dentistry": "Dentistry",
    "dermatology": "Dermatology",
    "emergency_medicine": "Emergency medicine",
    "endocrinology": "Endocrinology",
    "family_medicine": "Family medicine",
    "gastroenterology": "Gastroenterology",
    "general_surgery": "General surgery",
    "gynecology": "Gynecology",
    "hematology": "Hematology",
    "hepatology": "Hepatology",
    "infectious_disease": "Infectious diseases",
    "internal_medicine": "Internal medicine",
    "nephrology": "Nephrology",
    "neurology": "Neurology",
    "neurosurgery": "Neurosurgery",
    "obstetrics": "Obstetrics",
    "oncology": "Oncology",
    "ophthalmology": "Ophthalmology",
    "orthopedics": "Orthopedics",
    "otolaryngology": "Ear, nose and throat (otolaryngology)",
    "pediatrics": "Pediatrics",
    "psychiatry": "Psychiatry",
    "pulmonology": "Pulmonology",
    "rheumatology": "Rheumatology",
    "sports_medicine": "Sports medicine",
    "urology": "Urology",
    "vascular_surgery": "Vascular surgery",
}

#: Where a case goes when the causes point nowhere in particular: generalists see the whole person.
FALLBACK_SPECIALTY = "family_medicine"
#: Emergency medicine does not give written second opinions days later: a condition that belongs
#: there needs care now, and its follow-up belongs to a generalist.
NOT_FOR_SECOND_OPINIONS = frozenset({"emergency_medicine"})
#: The suggestion names a specialist only when its share of the likelihood is at least this.
MIN_SHARE = 0.4
_EMERGENCY_LEVELS = frozenset({"emergency", "emergency_ambulance"})


class UnknownSpecialty(ValueError):
    code = "unknown_specialty"
    status = 422

    def __init__(self, specialty: str):
        self.message = f"{specialty[:60]!r} is not a specialty curbside knows."
        super().__init__(self.message)


def specialty_name(specialty: str) -> str:
    return SPECIALTIES.get(specialty, specialty.replace("_", " ").capitalize())


def checked_specialty(specialty: str) -> str:
    value = specialty.strip().lower()
    if value not in SPECIALTIES:
        raise UnknownSpecialty(specialty)
    return value


@dataclass(frozen=True)
class Weighted:
    id: str
    specialty: str
    probability: float
    urgent: bool = False  # its usual care is an emergency department or an ambulance
    self_care: bool = False  # its usual care is self-care


@dataclass(frozen=True)
class SpecialtySuggestion:
    specialty: str
    name: str
    share: float  # the share of the listed causes' likelihood that points to it
    scores: dict[str, float]
    urgent: bool  # some likely cause needs emergency care: the patient must not wait for an opinion
    reasons: tuple[str, ...]


def suggest_specialty(conditions: Iterable[Weighted]) -> SpecialtySuggestion:
    """The specialty most of the likelihood points to.

    Each condition adds its probability to its referral specialty; emergency-medicine conditions
    count for the generalist (emergency physicians do not give written opinions days later; the
    follow-up is a family doctor's). When no specialty holds at least :data:`MIN_SHARE` of the
    total, the picture is mixed and the generalist fallback is suggested. Two nuances are told in
    the reasons: a likely cause that needs emergency care (``urgent``: get that care now), and
    causes that are mostly self-care (a second opinion is optional).
    """
    items = [c for c in conditions if c.probability > 0]
    scores: dict[str, float] = {}
    urgent = False
    reasons: list[str] = []
    for item in items:
        specialty = item.specialty if item.specialty in SPECIALTIES else FALLBACK_SPECIALTY
        if specialty in NOT_FOR_SECOND_OPINIONS:
            specialty = FALLBACK_SPECIALTY
        scores[specialty] = scores.get(specialty, 0.0) + item.probability
        if item.urgent and item.probability >= 0.05:
            urgent = True
    total = sum(scores.values())
    self_care_share = sum(c.probability for c in items if c.self_care) / total if total > 0 else 0.0
    if urgent:
        reasons.append("A likely cause usually needs emergency care: get that care now; a written second "
                       "opinion takes days.")
    if total <= 0:
        reasons.append("No cause to go by: a generalist looks at the whole picture.")
        return SpecialtySuggestion(FALLBACK_SPECIALTY, specialty_name(FALLBACK_SPECIALTY), 0.0, {},
                                   urgent, tuple(reasons))
    # deterministic: highest score, then the id
    best, best_score = min(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    share = best_score / total
    if share < MIN_SHARE:
        reasons.append(f"The possible causes point to several specialties (the most, "
                       f"{specialty_name(best)}, holds {share:.0%}): a generalist looks at the "
                       "whole picture.")
        fallback_share = scores.get(FALLBACK_SPECIALTY, 0.0) / total
        return SpecialtySuggestion(FALLBACK_SPECIALTY, specialty_name(FALLBACK_SPECIALTY), fallback_share,
                                   scores, urgent, tuple(reasons))
    reasons.append(f"{share:.0%} of the likelihood of the possible causes points to {specialty_name(best)}.")
    if self_care_share >= 0.5 and not urgent:
        reasons.append("The most likely causes usually get better with self-care: a second opinion is "
                       "optional, and worth it if things do not improve.")
    return SpecialtySuggestion(best, specialty_name(best), share, scores, urgent, tuple(reasons))


class RankedLike(Protocol):
    """The engine's RankedCondition (``triage``) or a report's PossibleCause (``usual_care``)."""

    @property
    def id(self) -> str: ...

    @property
    def specialty(self) -> str: ...

    @property
    def probability(self) -> float: ...


def weighted(conditions: Iterable[RankedLike]) -> list[Weighted]:
    """Adapt ranked conditions, noting which usually need emergency care and which self-care."""
    out = []
    for c in conditions:
        level = getattr(c, "triage", None) or getattr(c, "usual_care", None)
        level_value = str(getattr(level, "value", level))
        out.append(Weighted(id=c.id, specialty=c.specialty, probability=float(c.probability),
                            urgent=level_value in _EMERGENCY_LEVELS, self_care=level_value == "self_care"))
    return out
