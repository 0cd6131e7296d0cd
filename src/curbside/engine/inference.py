"""Posterior over conditions given age, sex and evidence: naive Bayes with a background rate.

One condition is assumed to explain the complaint (the conditions are mutually exclusive and
exhaustive within the model), and findings are independent given the condition. Then

    log P(c | e) = log prior(c | age, sex) + sum_present log P(f | c) + sum_absent log(1 - P(f | c)) + const

where P(f | c) is the pack's number when it lists one and the finding's background rate otherwise.
A finding of the opening complaint (what brought the person here) uses a tenth of the background
rate instead: a condition that does not list a symptom rarely makes it the reason to seek help.
"Don't know" answers carry no information. docs/model.md states the assumptions and their limits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

import numpy as np

from curbside.engine.model import FloatArray, IntArray, Model


class Answer(StrEnum):
    present = "present"
    absent = "absent"
    unknown = "unknown"


class EvidenceError(ValueError):
    """Evidence that cannot be used: unknown ids, contradictions, impossible ages."""


@dataclass(frozen=True)
class Evidence:
    """What is known about one person: finding id -> answer, in the order it was learnt."""

    answers: tuple[tuple[str, Answer], ...] = ()
    #: Findings of the opening complaint: what brought the person here (see log_posterior).
    complaint: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        present: Iterable[str] = (),
        absent: Iterable[str] = (),
        unknown: Iterable[str] = (),
        complaint: Iterable[str] = (),
    ) -> Evidence:
        items: dict[str, Answer] = {}
        conflicts: list[str] = []
        for answer, ids in ((Answer.present, present), (Answer.absent, absent),
                            (Answer.unknown, unknown)):
            for finding_id in ids:
                if finding_id in items and items[finding_id] is not answer:
                    conflicts.append(finding_id)
                items[finding_id] = answer
        if conflicts:
            raise EvidenceError(
                "the same finding cannot be both present and absent: " + ", ".join(sorted(conflicts))
            )
        return cls(tuple(items.items()), frozenset(complaint))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str]) -> Evidence:
        try:
            return cls(tuple((f, Answer(a)) for f, a in mapping.items()))
        except ValueError as exc:
            raise EvidenceError(f"answers are present, absent or unknown: {exc}") from None

    def as_dict(self) -> dict[str, Answer]:
        return dict(self.answers)

    def ids(self, answer: Answer) -> list[str]:
        return [f for f, a in self.answers if a is answer]

    @cached_property
    def present(self) -> list[str]:
        return self.ids(Answer.present)

    @cached_property
    def absent(self) -> list[str]:
        return self.ids(Answer.absent)

    def with_answers(self, new: Iterable[tuple[str, Answer]]) -> Evidence:
        merged = self.as_dict()
        for finding_id, answer in new:
            merged[finding_id] = answer
        return Evidence(tuple(merged.items()), self.complaint)

    def without(self, finding_ids: Iterable[str]) -> Evidence:
        drop = set(finding_ids)
        return Evidence(tuple((f, a) for f, a in self.answers if f not in drop),
                        self.complaint - drop)


def check_patient(age: float, sex: str) -> None:
    if not isinstance(age, int | float) or not 0 <= age <= 120:
        raise EvidenceError(f"age must be between 0 and 120 years, got {age!r}")
    if sex not in ("male", "female"):
        raise EvidenceError(f"sex must be 'male' or 'female', got {sex!r}")


def evidence_indices(model: Model, evidence: Evidence) -> tuple[IntArray, IntArray]:
    unknown_ids = [f for f, _ in evidence.answers if f not in model.finding_index]
    if unknown_ids:
        raise EvidenceError("unknown finding id(s): " + ", ".join(sorted(unknown_ids)))
    present = np.array([model.finding_index[f] for f in evidence.present], dtype=np.int64)
    absent = np.array([model.finding_index[f] for f in evidence.absent], dtype=np.int64)
    return present, absent


def log_posterior(model: Model, age: float, sex: str, evidence: Evidence) -> FloatArray:
    """Unnormalised log posterior over ``model.condition_ids``."""
    check_patient(age, sex)
    present, absent = evidence_indices(model, evidence)
    scores = model.log_prior(age, sex).copy()
    if present.size:
        complaint = np.array([model.finding_ids[i] in evidence.complaint for i in present])
        scores += model.log_p[:, present[~complaint]].sum(axis=1)
        scores += model.log_p_complaint[:, present[complaint]].sum(axis=1)
    if absent.size:
        scores += model.log_1mp[:, absent].sum(axis=1)
    return scores


def normalise(log_scores: FloatArray) -> FloatArray:
    finite = np.isfinite(log_scores)
    if not finite.any():
        return np.full_like(log_scores, 1.0 / log_scores.size)
    shifted = np.where(finite, log_scores - log_scores[finite].max(), -np.inf)
    weights = np.exp(shifted)
    total: FloatArray = weights / weights.sum()
    return total


def posterior(model: Model, age: float, sex: str, evidence: Evidence) -> FloatArray:
    """P(condition | age, sex, evidence), in the order of ``model.condition_ids``."""
    return normalise(log_posterior(model, age, sex, evidence))
