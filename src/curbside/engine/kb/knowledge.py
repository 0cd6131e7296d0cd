"""One knowledge base from one or more packs, with the checks of ``curbside kb check``.

Ids are global across packs: a finding id used by two packs is one node (its synonyms are united);
a condition id may be defined once only. Source and estimate ids are local to their pack, so every
clinical number is resolved against the pack it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from curbside.engine.kb.icd10 import icd10_problem
from curbside.engine.kb.load import KnowledgeBaseError, Pack, Problem, read_pack
from curbside.engine.kb.schema import (
    Condition,
    Finding,
    GroupType,
    Likelihood,
    Modifier,
    QuestionGroup,
    RedFlagRule,
    Source,
    Sourced,
)


@dataclass
class KnowledgeBase:
    packs: list[Pack] = field(default_factory=list)
    conditions: dict[str, Condition] = field(default_factory=dict)
    findings: dict[str, Finding] = field(default_factory=dict)
    question_groups: dict[str, QuestionGroup] = field(default_factory=dict)
    likelihoods: dict[str, dict[str, Likelihood]] = field(default_factory=dict)
    red_flags: list[RedFlagRule] = field(default_factory=list)
    condition_pack: dict[str, str] = field(default_factory=dict)
    finding_pack: dict[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        parts = [f"{p.info.id}@{p.info.version}" for p in self.packs if p.info is not None]
        return "+".join(parts) or "unversioned"

    def source(self, pack_id: str, source_id: str) -> Source | None:
        for pack in self.packs:
            if pack.info is not None and pack.info.id == pack_id:
                return pack.sources.get(source_id)
        return None

    def estimate_rationale(self, pack_id: str, key: str) -> str | None:
        for pack in self.packs:
            if pack.info is not None and pack.info.id == pack_id:
                return pack.estimates.get(key)
        return None

    @cached_property
    def group_of(self) -> dict[str, str]:
        """Finding id -> the question group that asks it."""
        return {f: g.id for g in self.question_groups.values() for f in g.findings}


def _pack_id(pack: Pack) -> str:
    return pack.info.id if pack.info is not None else pack.path.name


def _numbers(pack: Pack) -> Iterable[tuple[str, Sourced | Modifier]]:
    for condition in pack.conditions:
        prior = condition.prior
        yield f"conditions.{condition.id}.prior.rate", prior.rate
        if prior.age is not None:
            yield f"conditions.{condition.id}.prior.age", prior.age
        if prior.sex is not None:
            yield f"conditions.{condition.id}.prior.sex", prior.sex
    for finding in pack.findings:
        yield f"findings.{finding.id}.background", finding.background
    for condition_id, row in pack.likelihoods.items():
        for finding_id, likelihood in row.items():
            yield f"likelihoods.{condition_id}.{finding_id}", likelihood


def check_pack(pack: Pack) -> list[Problem]:
    """Checks inside one pack: references to its own sources, estimates and ids."""
    problems: list[Problem] = []
    where = str(pack.path)
    if pack.info is None:
        problems.append(Problem("error", where, "no 'pack' section (id, title, version, licence)"))
    for what, number in _numbers(pack):
        for source_id in number.source:
            if source_id not in pack.sources:
                problems.append(Problem("error", where, f"{what}: unknown source {source_id!r}"))
        if number.estimate is not None and number.estimate not in pack.estimates:
            problems.append(
                Problem("error", where, f"{what}: estimate {number.estimate!r} has no rationale")
            )
    for rule in pack.red_flags:
        for source_id in rule.source:
            if source_id not in pack.sources:
                problems.append(
                    Problem("error", where, f"red_flags.{rule.id}: unknown source {source_id!r}")
                )
    for condition in pack.conditions:
        for source_id in condition.sources:
            if source_id not in pack.sources:
                problems.append(
                    Problem("error", where, f"conditions.{condition.id}: unknown source {source_id!r}")
                )
        for code in condition.icd10:
            message = icd10_problem(code)
            if message:
                problems.append(Problem("error", where, f"conditions.{condition.id}: {message}"))
    return problems


def build_knowledge_base(packs: Sequence[Pack]) -> tuple[KnowledgeBase, list[Problem]]:
    kb = KnowledgeBase(packs=list(packs))
    problems: list[Problem] = []
    for pack in packs:
        problems.extend(check_pack(pack))
        pid, where = _pack_id(pack), str(pack.path)
        for condition in pack.conditions:
            if condition.id in kb.conditions:
                problems.append(
                    Problem("error", where, f"condition {condition.id!r} already defined "
                            f"by pack {kb.condition_pack[condition.id]!r}")
                )
                continue
            kb.conditions[condition.id] = condition
            kb.condition_pack[condition.id] = pid
        for finding in pack.findings:
            existing = kb.findings.get(finding.id)
            if existing is None:
                kb.findings[finding.id] = finding
                kb.finding_pack[finding.id] = pid
            elif kb.finding_pack[finding.id] == pid:
                problems.append(Problem("error", where, f"finding {finding.id!r} defined twice"))
            else:
                synonyms = list(dict.fromkeys([*existing.synonyms, *finding.synonyms]))
                kb.findings[finding.id] = existing.model_copy(update={"synonyms": synonyms})
        for group in pack.question_groups:
            if group.id in kb.question_groups:
                problems.append(Problem("error", where, f"question group {group.id!r} defined twice"))
            kb.question_groups[group.id] = group
        for condition_id, row in pack.likelihoods.items():
            kb.likelihoods.setdefault(condition_id, {}).update(row)
        kb.red_flags.extend(pack.red_flags)
    problems.extend(_check_references(kb))
    return kb, problems


def _check_references(kb: KnowledgeBase) -> list[Problem]:
    problems: list[Problem] = []

    def error(where: str, message: str) -> None:
        problems.append(Problem("error", where, message))

    for condition_id, row in kb.likelihoods.items():
        if condition_id not in kb.conditions:
            error(f"likelihoods.{condition_id}", "unknown condition")
        for finding_id in row:
            if finding_id not in kb.findings:
                error(f"likelihoods.{condition_id}.{finding_id}", "unknown finding")
    for condition_id in kb.conditions:
        if not kb.likelihoods.get(condition_id):
            error(f"conditions.{condition_id}", "no likelihoods: the engine could never suggest it")
    rule_ids: set[str] = set()
    for rule in kb.red_flags:
        if rule.id in rule_ids:
            error(f"red_flags.{rule.id}", "rule id used twice")
        rule_ids.add(rule.id)
        for finding_id in rule.findings:
            if finding_id not in kb.findings:
                error(f"red_flags.{rule.id}", f"unknown finding {finding_id!r}")
    seen_in_group: dict[str, str] = {}
    for group in kb.question_groups.values():
        for finding_id in group.findings:
            if finding_id not in kb.findings:
                error(f"question_groups.{group.id}", f"unknown finding {finding_id!r}")
            if finding_id in seen_in_group:
                error(f"question_groups.{group.id}",
                      f"finding {finding_id!r} is already in group {seen_in_group[finding_id]!r}")
            seen_in_group[finding_id] = group.id
        if group.type is GroupType.single and len(set(group.findings)) != len(group.findings):
            error(f"question_groups.{group.id}", "repeated option")
    for finding in kb.findings.values():
        for required in finding.requires:
            if required not in kb.findings:
                error(f"findings.{finding.id}", f"requires unknown finding {required!r}")
    used = {f for row in kb.likelihoods.values() for f in row}
    used |= {f for rule in kb.red_flags for f in rule.findings}
    for finding_id in kb.findings:
        if finding_id not in used:
            problems.append(Problem("warning", f"findings.{finding_id}",
                                    "not used by any likelihood or red-flag rule"))
    return problems


def read_knowledge_base(directories: Sequence[Path]) -> tuple[KnowledgeBase, list[Problem]]:
    packs: list[Pack] = []
    problems: list[Problem] = []
    for directory in directories:
        if not directory.is_dir():
            problems.append(Problem("error", str(directory), "not a directory"))
            continue
        pack, pack_problems = read_pack(directory)
        packs.append(pack)
        problems.extend(pack_problems)
    kb, kb_problems = build_knowledge_base(packs)
    return kb, problems + kb_problems


def load_knowledge_base(directories: Sequence[Path]) -> KnowledgeBase:
    """Read packs and refuse to return a knowledge base that has errors."""
    kb, problems = read_knowledge_base(directories)
    if any(p.severity == "error" for p in problems):
        raise KnowledgeBaseError(problems)
    return kb
