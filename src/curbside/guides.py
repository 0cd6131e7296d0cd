"""Condition guides: Markdown files with YAML front matter, loaded and validated (docs/guides.md).

The rule that matters most: every paragraph and list item of a guide cites at least one of the
guide's declared sources, so no claim reaches a reader without its reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from curbside.engine.kb.load import Problem
from curbside.engine.kb.schema import Source

CITATION = re.compile(r"\[(S[A-Za-z0-9_.-]*\d[A-Za-z0-9_.-]*(?:\s*,\s*S[A-Za-z0-9_.-]*)*)\]")
_HEADING = re.compile(r"^## (?P<title>.+?) \{#(?P<id>[a-z0-9][a-z0-9-]*)\}\s*$")
_FRONT_MATTER = re.compile(r"\A---\n(?P<yaml>.*?)\n---\n(?P<body>.*)\Z", re.DOTALL)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


class SectionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=2)


class FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=2)
    summary: str = Field(min_length=10)
    conditions: list[str] = Field(default_factory=list)
    complaint: str | None = None
    reviewer: str = Field(min_length=2)
    review_date: date
    sections: list[SectionSpec] = Field(min_length=1)
    sources: dict[str, Source] = Field(min_length=1)


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    markdown: str


@dataclass(frozen=True)
class Guide:
    slug: str
    title: str
    summary: str
    conditions: tuple[str, ...]
    complaint: str | None
    reviewer: str
    review_date: date
    sections: tuple[Section, ...]
    sources: dict[str, Source]
    path: Path

    @property
    def text(self) -> str:
        """Plain text for search: title, summary and body without citation markers."""
        body = " ".join(s.title + " " + s.markdown for s in self.sections)
        return CITATION.sub("", f"{self.title} {self.summary} {body}")


def cited_ids(text: str) -> list[str]:
    return [part.strip() for match in CITATION.finditer(text) for part in match.group(1).split(",")]


def _blocks(markdown: str) -> Iterable[str]:
    """Paragraphs and list items: the units that must each carry a citation."""
    current: list[str] = []
    for line in markdown.splitlines():
        if not line.strip() or line.startswith("#"):
            if current:
                yield " ".join(current)
            current = []
            continue
        if _LIST_ITEM.match(line) and current:
            yield " ".join(current)
            current = []
        current.append(line.strip())
    if current:
        yield " ".join(current)


def parse_guide(path: Path) -> tuple[Guide | None, list[Problem]]:
    where = str(path)
    problems: list[Problem] = []

    def error(message: str) -> None:
        problems.append(Problem("error", where, message))

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem("error", where, f"cannot read: {exc}")]
    match = _FRONT_MATTER.match(text)
    if match is None:
        return None, [Problem("error", where, "no YAML front matter between '---' lines")]
    try:
        front = FrontMatter.model_validate(yaml.safe_load(match.group("yaml")))
    except yaml.YAMLError as exc:
        return None, [Problem("error", where, f"front matter is not valid YAML: {exc}")]
    except ValidationError as exc:
        for item in exc.errors():
            location = ".".join(str(p) for p in item["loc"])
            message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
            error(f"front matter {location}: {message}")
        return None, problems
    if front.slug != path.stem:
        error(f"slug {front.slug!r} does not match the file name {path.stem!r}")

    sections: list[Section] = []
    heading: tuple[str, str] | None = None
    lines: list[str] = []
    for line in match.group("body").splitlines():
        if line.startswith("## "):
            if heading is not None:
                sections.append(Section(heading[0], heading[1], "\n".join(lines).strip()))
            found = _HEADING.match(line)
            if found is None:
                error(f"heading {line!r} must be '## Title {{#section-id}}'")
                heading = None
            else:
                heading = (found.group("id"), found.group("title"))
            lines = []
        elif heading is None:
            if line.strip():
                error(f"text before the first section: {line.strip()[:60]!r}")
        else:
            lines.append(line)
    if heading is not None:
        sections.append(Section(heading[0], heading[1], "\n".join(lines).strip()))

    declared = [(s.id, s.title) for s in front.sections]
    present = [(s.id, s.title) for s in sections]
    if declared != present:
        error(f"sections in the body {[s[0] for s in present]} do not match the declared "
              f"sections {[s[0] for s in declared]} (ids, titles and order)")
    for section in sections:
        if not section.markdown:
            error(f"section {section.id!r} is empty")
        for block in _blocks(section.markdown):
            ids = cited_ids(block)
            if not ids:
                error(f"section {section.id!r}: uncited claim: {block[:80]!r}")
            for source_id in ids:
                if source_id not in front.sources:
                    error(f"section {section.id!r}: cites undeclared source {source_id!r}")
    guide = Guide(
        slug=front.slug, title=front.title, summary=front.summary,
        conditions=tuple(front.conditions), complaint=front.complaint, reviewer=front.reviewer,
        review_date=front.review_date, sections=tuple(sections), sources=dict(front.sources),
        path=path,
    )
    return guide, problems


def read_guides(directory: Path,
                condition_ids: Iterable[str] | None = None) -> tuple[list[Guide], list[Problem]]:
    """All guides of a folder, checked; ``condition_ids`` checks the knowledge-base links."""
    guides: list[Guide] = []
    problems: list[Problem] = []
    files = sorted(directory.glob("*.md"))
    if not files:
        problems.append(Problem("error", str(directory), "no guides (*.md) found"))
    known = set(condition_ids) if condition_ids is not None else None
    for file in files:
        guide, found = parse_guide(file)
        problems.extend(found)
        if guide is None:
            continue
        if known is not None:
            for condition_id in guide.conditions:
                if condition_id not in known:
                    problems.append(Problem("error", str(file),
                                            f"unknown knowledge-base condition {condition_id!r}"))
        guides.append(guide)
    return guides, problems


class GuideLibrary:
    """The loaded guides, by slug, with a small ranked search."""

    def __init__(self, guides: Sequence[Guide]):
        self.guides = {g.slug: g for g in sorted(guides, key=lambda g: g.title)}

    def get(self, slug: str) -> Guide | None:
        return self.guides.get(slug)

    def for_condition(self, condition_id: str) -> list[Guide]:
        return [g for g in self.guides.values() if condition_id in g.conditions]

    def search(self, phrase: str, limit: int = 20) -> list[Guide]:
        words = [w for w in re.findall(r"[a-z0-9]+", phrase.lower()) if len(w) > 1]
        if not words:
            return list(self.guides.values())[:limit]
        scored = []
        for guide in self.guides.values():
            title = guide.title.lower()
            summary = guide.summary.lower()
            body = guide.text.lower()
            score = sum(5 * title.count(w) + 2 * summary.count(w) + min(body.count(w), 5)
                        for w in words)
            if all(w in body or w in title for w in words):
                score += 10
            if score:
                scored.append((score, guide.title, guide))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [g for _, _, g in scored[:limit]]
