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

import yaml

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
    likelihood_pack: dict[tuple[str, str], str] = field(default_factory=dict)

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


@dataclass(frozen=True)
class AliasTable:
    """Ids that name the same node in different packs: alias -> canonical id."""

    conditions: dict[str, str] = field(default_factory=dict)
    findings: dict[str, str] = field(default_factory=dict)


def read_alias_table(path: Path) -> tuple[AliasTable, list[Problem]]:
    """``content/kb/aliases.yaml``: ``conditions: {canonical: [alias, ...]}``, same for findings."""
    problems: list[Problem] = []
    where = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        return AliasTable(), [Problem("error", where, f"cannot read the alias table: {exc}")]
    if not isinstance(raw, dict) or set(raw) - {"conditions", "findings"}:
        return AliasTable(), [Problem("error", where, "the alias table has two sections: "
                                      "conditions and findings")]
    tables: dict[str, dict[str, str]] = {"conditions": {}, "findings": {}}
    for section, mapping in raw.items():
        if not isinstance(mapping, dict):
            problems.append(Problem("error", where, f"{section}: expected canonical: [aliases]"))
            continue
        for canonical, aliases in mapping.items():
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                problems.append(Problem("error", where, f"{section}.{canonical}: a list of ids"))
                continue
            for alias in aliases:
                if alias in tables[section] or alias == canonical:
                    problems.append(Problem("error", where, f"{section}: alias {alias!r} repeated"))
                tables[section][alias] = str(canonical)
        chained = set(tables[section]) & set(tables[section].values())
        if chained:
            problems.append(Problem("error", where,
                                    f"{section}: ids both alias and canonical: {sorted(chained)}"))
    return AliasTable(tables["conditions"], tables["findings"]), problems


def _renamed(pack: Pack, aliases: AliasTable) -> Pack:
    """The pack with every aliased id replaced by its canonical id."""
    if not aliases.conditions and not aliases.findings:
        return pack
    cond = aliases.conditions
    find = aliases.findings

    def f(ids: list[str]) -> list[str]:
        return list(dict.fromkeys(find.get(i, i) for i in ids))

    return Pack(
        path=pack.path, info=pack.info, sources=pack.sources, estimates=pack.estimates,
        conditions=[c.model_copy(update={"id": cond.get(c.id, c.id)}) for c in pack.conditions],
        findings=[x.model_copy(update={"id": find.get(x.id, x.id), "requires": f(x.requires)})
                  for x in pack.findings],
        question_groups=[g.model_copy(update={"findings": f(g.findings)})
                         for g in pack.question_groups],
        likelihoods={cond.get(c, c): {find.get(x, x): v for x, v in row.items()}
                     for c, row in pack.likelihoods.items()},
        red_flags=[r.model_copy(update={"all": f(r.all), "any": f(r.any),
                                        "any_second": f(r.any_second)})
                   for r in pack.red_flags],
    )


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


def build_knowledge_base(packs: Sequence[Pack],
                         aliases: AliasTable | None = None) -> tuple[KnowledgeBase, list[Problem]]:
    """Merge packs into one model. Packs earlier in the list take precedence: a condition or
    finding defined by two packs is one node with the first definition; a later pack's
    likelihoods for it fill only the pairs the earlier packs leave open."""
    aliases = aliases or AliasTable()
    kb = KnowledgeBase(packs=list(packs))
    problems: list[Problem] = []
    sources: dict[str, tuple[str, Source]] = {}
    rule_ids: dict[str, str] = {}
    for original in packs:
        problems.extend(check_pack(original))
        pack = _renamed(original, aliases)
        pid, where = _pack_id(pack), str(pack.path)
        for source_id, source in pack.sources.items():
            seen = sources.get(source_id)
            if seen is not None and seen[1].citation != source.citation:
                problems.append(Problem("error", where, f"source {source_id!r} means something "
                                        f"else in pack {seen[0]!r}; source ids are shared"))
            sources.setdefault(source_id, (pid, source))
        own_conditions: set[str] = set()
        for condition in pack.conditions:
            if condition.id in own_conditions:
                problems.append(Problem("error", where, f"condition {condition.id!r} defined twice"))
            own_conditions.add(condition.id)
            if condition.id not in kb.conditions:
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
                synonyms = list(dict.fromkeys([*existing.synonyms, finding.name, *finding.synonyms]))
                kb.findings[finding.id] = existing.model_copy(update={"synonyms": synonyms})
        for group in pack.question_groups:
            if group.id in kb.question_groups:
                problems.append(Problem("error", where, f"question group {group.id!r} defined twice"))
            kb.question_groups[group.id] = group
        for condition_id, row in pack.likelihoods.items():
            merged = kb.likelihoods.setdefault(condition_id, {})
            for finding_id, likelihood in row.items():
                if finding_id not in merged:
                    merged[finding_id] = likelihood
                    kb.likelihood_pack[(condition_id, finding_id)] = pid
        for rule in pack.red_flags:
            if rule.id in rule_ids:
                problems.append(Problem("error", where, f"red-flag rule {rule.id!r} already "
                                        f"defined by pack {rule_ids[rule.id]!r}"))
                continue
            rule_ids[rule.id] = pid
            kb.red_flags.append(rule)
    problems.extend(_check_references(kb))
    problems.extend(_possible_duplicates(kb))
    return kb, problems


def _possible_duplicates(kb: KnowledgeBase) -> list[Problem]:
    """Two conditions from different packs with the same ICD-10-CM codes are probably one node."""
    by_codes: dict[tuple[str, ...], str] = {}
    problems: list[Problem] = []
    for condition in kb.conditions.values():
        codes = tuple(sorted(condition.icd10))
        if not codes:
            continue
        other = by_codes.get(codes)
        if other is not None and kb.condition_pack[other] != kb.condition_pack[condition.id]:
            problems.append(Problem(
                "warning", f"conditions.{condition.id}",
                f"same ICD-10-CM codes as {other!r} of pack {kb.condition_pack[other]!r}: "
                "if they are one condition, add them to the alias table"))
        by_codes.setdefault(codes, condition.id)
    return problems


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
    for rule in kb.red_flags:
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


def read_knowledge_base(directories: Sequence[Path], alias_file: Path | None = None,
                        cache_dir: Path | None = None) -> tuple[KnowledgeBase, list[Problem]]:
    packs: list[Pack] = []
    problems: list[Problem] = []
    aliases = AliasTable()
    if alias_file is not None:
        aliases, alias_problems = read_alias_table(alias_file)
        problems.extend(alias_problems)
    for directory in directories:
        if not directory.is_dir():
            problems.append(Problem("error", str(directory), "not a directory"))
            continue
        pack, pack_problems = read_pack(directory, cache_dir)
        packs.append(pack)
        problems.extend(pack_problems)
    kb, kb_problems = build_knowledge_base(packs, aliases)
    return kb, problems + kb_problems


def load_knowledge_base(directories: Sequence[Path], alias_file: Path | None = None,
                        cache_dir: Path | None = None) -> KnowledgeBase:
    """Read packs and refuse to return a knowledge base that has errors."""
    kb, problems = read_knowledge_base(directories, alias_file, cache_dir)
    if any(p.severity == "error" for p in problems):
        raise KnowledgeBaseError(problems)
    return kb
