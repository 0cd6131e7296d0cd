"""Reading packs from disk into one :class:`KnowledgeBase`, collecting every problem on the way.

Loading never raises on bad content: it returns the knowledge base it could build together with a
list of :class:`Problem`; :func:`load_knowledge_base` raises :class:`KnowledgeBaseError` only when a
caller asks for a usable model and errors remain.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from curbside.engine.kb.schema import (
    Condition,
    Finding,
    Likelihood,
    PackDocument,
    PackInfo,
    QuestionGroup,
    RedFlagRule,
    Source,
)

Severity = Literal["error", "warning"]

#: libyaml's C loader when PyYAML was built with it (ten times faster on large packs); both are safe.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Problem:
    severity: Severity
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.where}: {self.message}"


class KnowledgeBaseError(ValueError):
    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        shown = "\n".join(f"  {p}" for p in errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} error(s) in the knowledge base:\n{shown}{more}")


@dataclass
class Pack:
    """The merged sections of one pack directory."""

    path: Path
    info: PackInfo | None = None
    sources: dict[str, Source] = field(default_factory=dict)
    estimates: dict[str, str] = field(default_factory=dict)
    conditions: list[Condition] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    question_groups: list[QuestionGroup] = field(default_factory=list)
    likelihoods: dict[str, dict[str, Likelihood]] = field(default_factory=dict)
    red_flags: list[RedFlagRule] = field(default_factory=list)


def _format_validation_error(error: ValidationError) -> Iterable[str]:
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        yield f"{location}: {message}"


def _parse_yaml(file: Path, cache_dir: Path | None) -> Any:
    """YAML -> plain data. With ``cache_dir``, the result is kept as JSON keyed by the file's
    content hash: large packs parse in a fraction of the time on every later start."""
    content = file.read_bytes()
    cached: Path | None = None
    if cache_dir is not None:
        cached = cache_dir / f"{hashlib.sha256(content).hexdigest()}.json"
        try:
            return json.loads(cached.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
    raw = yaml.load(content.decode("utf-8"), Loader=_LOADER)
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            temporary = cached.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(raw, default=str), encoding="utf-8")
            temporary.replace(cached)
        except OSError:
            pass  # a read-only cache only costs speed
    return raw


def read_pack(directory: Path, cache_dir: Path | None = None) -> tuple[Pack, list[Problem]]:
    """Read every ``*.yaml`` file of a pack directory and concatenate their sections."""
    pack = Pack(path=directory)
    problems: list[Problem] = []
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    if not files:
        problems.append(Problem("error", str(directory), "no .yaml files: not a knowledge-base pack"))
    for file in files:
        where = str(file)
        try:
            raw: Any = _parse_yaml(file, cache_dir)
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(Problem("error", where, f"not valid YAML: {exc}"))
            continue
        if raw is None:
            continue
        if not isinstance(raw, dict):
            problems.append(Problem("error", where, "a pack file must be a mapping of sections"))
            continue
        try:
            document = PackDocument.model_validate(raw)
        except ValidationError as exc:
            problems.extend(Problem("error", where, m) for m in _format_validation_error(exc))
            continue
        _merge_document(pack, document, where, problems)
    return pack, problems


def _merge_document(pack: Pack, document: PackDocument, where: str, problems: list[Problem]) -> None:
    if document.pack is not None:
        if pack.info is not None:
            problems.append(Problem("error", where, "a second 'pack' section; a pack has one"))
        pack.info = document.pack
    for key, source in document.sources.items():
        if key in pack.sources:
            problems.append(Problem("error", where, f"source {key!r} defined twice"))
        pack.sources[key] = source
    for key, text in document.estimates.items():
        if key in pack.estimates:
            problems.append(Problem("error", where, f"estimate rationale {key!r} defined twice"))
        pack.estimates[key] = text
    pack.conditions.extend(document.conditions)
    pack.findings.extend(document.findings)
    pack.question_groups.extend(document.question_groups)
    for condition_id, row in document.likelihoods.items():
        target = pack.likelihoods.setdefault(condition_id, {})
        for finding_id, likelihood in row.items():
            if finding_id in target:
                problems.append(
                    Problem("error", where, f"likelihood {condition_id}/{finding_id} given twice")
                )
            target[finding_id] = likelihood
    pack.red_flags.extend(document.red_flags)
