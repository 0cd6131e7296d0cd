"""The knowledge base compiled into arrays: the probabilistic model the engine computes with.

Kept apart from the pack format (``kb/``) and from the algorithms that use it (``inference``,
``interview``, ``triage``) in the manner of pgmpy: a model is built once, validated, then queried.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from curbside.engine.kb.knowledge import KnowledgeBase
from curbside.engine.kb.schema import AGE_BANDS, TRIAGE_ORDER, GroupType, Sex, age_band

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Likelihoods are clipped away from 0 and 1 so that one contradicting answer lowers a condition
#: sharply but never rules it out outright: people misremember and misread questions.
_P_MIN, _P_MAX = 0.005, 0.995
_P_FLOOR = 1e-4
#: See Model.log_p_complaint.
COMPLAINT_LEAK_FACTOR = 0.1


@dataclass(frozen=True)
class Group:
    id: str
    type: GroupType
    question: str
    members: tuple[int, ...]


@dataclass(frozen=True)
class CompiledRules:
    """Red-flag rules as masks over findings, so "would a yes fire a rule?" is one array operation."""

    all_mask: BoolArray  # [R, F]
    any_mask: BoolArray
    any2_mask: BoolArray
    level: IntArray  # [R]
    sex: list[str | None]
    min_age: FloatArray
    max_age: FloatArray

    def applicable(self, age: float, sex: str) -> BoolArray:
        sex_ok = np.array([s is None or s == sex for s in self.sex], dtype=bool)
        ok: BoolArray = sex_ok & (self.min_age <= age) & (age <= self.max_age)
        return ok

    def firing(self, present: BoolArray, age: float, sex: str) -> BoolArray:
        """[R]: the rules that fire on these present findings."""
        missing = (self.all_mask & ~present).sum(axis=1)
        any_ok = ~self.any_mask.any(axis=1) | (self.any_mask & present).any(axis=1)
        any2_ok = ~self.any2_mask.any(axis=1) | (self.any2_mask & present).any(axis=1)
        fires: BoolArray = np.asarray((missing == 0) & any_ok & any2_ok & self.applicable(age, sex))
        return fires

    @cached_property
    def _pairs(self) -> dict[str, tuple[IntArray, IntArray]]:
        """(rule, finding) index pairs of each list: the rules are sparse, so a step works on the
        few hundred pairs rather than on [R, F] masks."""
        masks = {"all": self.all_mask, "any": self.any_mask, "any2": self.any2_mask,
                 "named": self.all_mask | self.any_mask | self.any2_mask}
        pairs: dict[str, tuple[IntArray, IntArray]] = {}
        for name, mask in masks.items():
            rules, findings = np.nonzero(mask)
            pairs[name] = (rules.astype(np.int64), findings.astype(np.int64))
        return pairs

    def _hits(self, name: str, present: BoolArray) -> FloatArray:
        rules, findings = self._pairs[name]
        counts: FloatArray = np.bincount(rules, weights=present[findings].astype(np.float64),
                                         minlength=self.level.size).astype(np.float64)
        return counts

    @cached_property
    def _list_sizes(self) -> tuple[FloatArray, BoolArray, BoolArray]:
        """[R] each: how many findings 'all' needs, whether there is an 'any', an 'any_second'."""
        return (self.all_mask.sum(axis=1).astype(np.float64), np.asarray(self.any_mask.any(axis=1)),
                np.asarray(self.any2_mask.any(axis=1)))

    def _completions(self, present: BoolArray, age: float,
                     sex: str) -> tuple[IntArray, IntArray, BoolArray]:
        """(rule, finding) pairs where a 'yes' to the finding would fire the rule, and [R] whether
        each rule names a present finding."""
        all_size, has_any, has_any2 = self._list_sizes
        missing = all_size - self._hits("all", present)
        any_ok = ~has_any | (self._hits("any", present) > 0)
        any2_ok = ~has_any2 | (self._hits("any2", present) > 0)
        fires_now = (missing == 0) & any_ok & any2_ok
        # Only rules one finding away can be completed by a single 'yes': the missing member of
        # 'all' if one is missing, else a finding that satisfies the unmet 'any' / 'any_second'.
        near = (missing <= 1) & ~fires_now & self.applicable(age, sex)
        rules, findings = [], []
        for name, missing_count in (("all", 1), ("any", 0), ("any2", 0)):
            list_rules, list_findings = self._pairs[name]
            keep = near[list_rules] & (missing[list_rules] == missing_count)
            rules.append(list_rules[keep])
            findings.append(list_findings[keep])
        rule, finding = np.concatenate(rules), np.concatenate(findings)
        fires = (~present[finding] & (any_ok[rule] | self.any_mask[rule, finding])
                 & (any2_ok[rule] | self.any2_mask[rule, finding]))
        names_present: BoolArray = np.asarray(self._hits("named", present) > 0)
        return rule[fires], finding[fires], names_present

    def _floors(self, rule: IntArray, finding: IntArray, size: int, floor: int) -> IntArray:
        result: IntArray = np.full(size, floor, dtype=np.int64)
        np.maximum.at(result, finding, self.level[rule])
        return result

    def yes_floors(self, present: BoolArray, age: float, sex: str, floor: int) -> IntArray:
        """[F]: the triage floor after a 'yes' to each finding (at least ``floor``)."""
        rule, finding, _ = self._completions(present, age, sex)
        return self._floors(rule, finding, present.size, floor)

    def yes_floors_connected(self, present: BoolArray, age: float, sex: str,
                             floor: int) -> tuple[IntArray, IntArray]:
        """[F] twice: the floor after a 'yes' counting every rule, and counting only the rules
        that name a present finding (a 'yes' that completes a combination already begun)."""
        rule, finding, names_present = self._completions(present, age, sex)
        begun = names_present[rule]
        return (self._floors(rule, finding, present.size, floor),
                self._floors(rule[begun], finding[begun], present.size, floor))


@dataclass
class Model:
    kb: KnowledgeBase
    condition_ids: list[str]
    finding_ids: list[str]
    likelihood: FloatArray  # [C, F] P(finding present | condition)
    listed: BoolArray  # [C, F] True where the pack gives the number (else background)
    log_prior_table: FloatArray  # [bands, sexes, C]
    triage_rank: IntArray  # [C] default triage level as 0..4
    groups: list[Group]
    group_of_finding: IntArray  # [F] index into groups, -1 if asked alone
    finding_sex: list[str | None]
    finding_min_age: FloatArray
    finding_max_age: FloatArray
    finding_requires: list[tuple[int, ...]]
    rules: CompiledRules
    condition_index: dict[str, int] = field(init=False)
    finding_index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.condition_index = {c: i for i, c in enumerate(self.condition_ids)}
        self.finding_index = {f: i for i, f in enumerate(self.finding_ids)}

    @cached_property
    def findings_with_requirements(self) -> list[int]:
        return [i for i, required in enumerate(self.finding_requires) if required]

    @cached_property
    def _sex_masks(self) -> dict[str, BoolArray]:
        return {sex.value: np.array([s is None or s == sex.value for s in self.finding_sex])
                for sex in _SEXES}

    def finding_sex_mask(self, sex: str) -> BoolArray:
        return self._sex_masks[sex]

    @cached_property
    def log_p(self) -> FloatArray:
        return np.log(self.likelihood)

    @cached_property
    def log_p_complaint(self) -> FloatArray:
        """log P(f | c) for a finding the person opens with: unlisted pairs get a tenth of the
        background rate, because an unrelated condition is rarely the reason someone seeks help
        for a symptom, even if it sometimes comes with it when asked."""
        table: FloatArray = np.log(np.where(self.listed, self.likelihood, self.leak[None, :]))
        return table

    @cached_property
    def leak(self) -> FloatArray:
        """[F]: P(f | c) for a condition that does not list f, where someone who had f would have
        said so first: a tenth of the background rate (the opening complaint, log_p_complaint, and
        the interview's screening for red flags unconnected to the complaint)."""
        leak: FloatArray = np.clip(self.background * COMPLAINT_LEAK_FACTOR, _P_FLOOR, _P_MAX)
        return leak

    @cached_property
    def log_1mp(self) -> FloatArray:
        return np.log1p(-self.likelihood)

    @cached_property
    def background(self) -> FloatArray:
        return np.array([self.kb.findings[f].background.value for f in self.finding_ids])

    def log_prior(self, age: float, sex: str) -> FloatArray:
        band = AGE_BANDS.index(age_band(age))
        row: FloatArray = self.log_prior_table[band, _SEXES.index(Sex(sex))]
        return row


_SEXES: tuple[Sex, ...] = (Sex.male, Sex.female)


def compile_model(kb: KnowledgeBase) -> Model:
    condition_ids = sorted(kb.conditions)
    finding_ids = sorted(kb.findings)
    f_index = {f: i for i, f in enumerate(finding_ids)}
    n_c, n_f = len(condition_ids), len(finding_ids)

    background = np.array([kb.findings[f].background.value for f in finding_ids])
    likelihood = np.tile(background, (n_c, 1))
    listed = np.zeros((n_c, n_f), dtype=bool)
    for ci, condition_id in enumerate(condition_ids):
        for finding_id, value in kb.likelihoods.get(condition_id, {}).items():
            fi = f_index[finding_id]
            likelihood[ci, fi] = value.value
            listed[ci, fi] = True
    likelihood = np.clip(likelihood, _P_MIN, _P_MAX)

    log_prior_table = np.empty((len(AGE_BANDS), len(_SEXES), n_c))
    for ci, condition_id in enumerate(condition_ids):
        prior = kb.conditions[condition_id].prior
        for bi, band in enumerate(AGE_BANDS):
            for si, sex in enumerate(_SEXES):
                weight = prior.rate.value
                if prior.age is not None:
                    weight *= prior.age.values.get(band, 1.0)
                if prior.sex is not None:
                    weight *= prior.sex.values.get(sex.value, 1.0)
                log_prior_table[bi, si, ci] = np.log(weight) if weight > 0 else -np.inf

    groups = [
        Group(g.id, g.type, g.question, tuple(f_index[f] for f in g.findings))
        for g in kb.question_groups.values()
    ]
    group_of_finding = np.full(n_f, -1, dtype=np.int64)
    for gi, group in enumerate(groups):
        for fi in group.members:
            group_of_finding[fi] = gi

    findings = [kb.findings[f] for f in finding_ids]
    return Model(
        rules=_compile_rules(kb, f_index),
        kb=kb,
        condition_ids=condition_ids,
        finding_ids=finding_ids,
        likelihood=likelihood,
        listed=listed,
        log_prior_table=log_prior_table,
        triage_rank=np.array(
            [TRIAGE_ORDER.index(kb.conditions[c].default_triage) for c in condition_ids],
            dtype=np.int64,
        ),
        groups=groups,
        group_of_finding=group_of_finding,
        finding_sex=[f.sex.value if f.sex is not None else None for f in findings],
        finding_min_age=np.array([f.min_age if f.min_age is not None else 0.0 for f in findings]),
        finding_max_age=np.array([f.max_age if f.max_age is not None else 200.0 for f in findings]),
        finding_requires=[tuple(f_index[r] for r in f.requires) for f in findings],
    )


def _compile_rules(kb: KnowledgeBase, f_index: dict[str, int]) -> CompiledRules:
    rules = kb.red_flags
    shape = (len(rules), len(f_index))
    masks = {name: np.zeros(shape, dtype=bool) for name in ("all", "any", "any_second")}
    for ri, rule in enumerate(rules):
        for name in masks:
            for finding_id in getattr(rule, name):
                masks[name][ri, f_index[finding_id]] = True
    return CompiledRules(
        all_mask=masks["all"],
        any_mask=masks["any"],
        any2_mask=masks["any_second"],
        level=np.array([TRIAGE_ORDER.index(r.level) for r in rules], dtype=np.int64),
        sex=[r.sex.value if r.sex is not None else None for r in rules],
        min_age=np.array([r.min_age if r.min_age is not None else 0.0 for r in rules]),
        max_age=np.array([r.max_age if r.max_age is not None else 200.0 for r in rules]),
    )
