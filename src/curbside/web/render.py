"""Guide Markdown to HTML: escaped text, and citations ``[S1, S7]`` as numbered superscript links.

Raw HTML in the Markdown is not interpreted (markdown-it's ``html`` option is off), so every
character of a guide reaches the page escaped. Citations are numbered in order of first use across
the whole guide, and each number links to an entry of the ordered reference list at the bottom.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import OptionsDict
from markupsafe import Markup, escape

from curbside.guides import CITATION, Guide

#: What a source tier means, in words a reader can use (the knowledge base's A/B/C tiers).
TIER_LABELS = {
    "A": "Strong source: guideline, systematic review, study or standard textbook",
    "B": "Reputable summary",
    "C": "Weak source: treat with caution",
}

TIER_SHORT = {"A": "strong source", "B": "reputable summary", "C": "weak source"}


@dataclass(frozen=True)
class Reference:
    number: int
    id: str
    citation: str
    url: str | None
    host: str | None  # the link's site, shown so a reader sees where it leads
    tier: str
    tier_label: str
    tier_short: str
    cited: bool


@dataclass(frozen=True)
class RenderedSection:
    id: str
    title: str
    html: Markup


@dataclass(frozen=True)
class RenderedGuide:
    guide: Guide
    sections: tuple[RenderedSection, ...]
    references: tuple[Reference, ...]


def _citation_rule(state: StateInline, silent: bool) -> bool:
    """Inline rule, before links: ``[S1, S7]`` becomes one ``citation`` token."""
    if state.src[state.pos] != "[":
        return False
    match = CITATION.match(state.src, state.pos)
    if match is None or match.end() > state.posMax:
        return False
    if not silent:
        state.pending = state.pending.rstrip(" ")  # the marker sits right after the word it cites
        token = state.push("citation", "", 0)
        token.meta = {"ids": [part.strip() for part in match.group(1).split(",")]}
    state.pos = match.end()
    return True


def _render_citation(renderer: RendererHTML, tokens: Sequence[Token], idx: int,
                     options: OptionsDict, env: dict[str, Any]) -> str:
    numbers: dict[str, int] = env.setdefault("numbers", {})
    links = []
    for source_id in tokens[idx].meta["ids"]:
        if source_id not in numbers:
            numbers[source_id] = len(numbers) + 1
            anchor = f' id="cite-{escape(source_id)}"'
        else:
            anchor = ""
        number = numbers[source_id]
        links.append(f'<a href="#ref-{escape(source_id)}"{anchor}>'
                     f'<span class="visually-hidden">source </span>{number}</a>')
    return '<sup class="cite">[' + ", ".join(links) + "]</sup>"


def markdown_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.inline.ruler.before("link", "citation", _citation_rule)
    md.add_render_rule("citation", _render_citation)
    return md


_MD = markdown_parser()


def render_markdown(text: str, env: dict[str, Any] | None = None) -> Markup:
    """Markdown (HTML disabled) to safe HTML; ``env["numbers"]`` carries citation numbering."""
    return Markup(_MD.render(text, env if env is not None else {}))


def _host(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url).hostname
    return host.removeprefix("www.") if host else None


def render_guide(guide: Guide) -> RenderedGuide:
    env: dict[str, Any] = {"numbers": {}}
    sections = tuple(RenderedSection(s.id, s.title, render_markdown(s.markdown, env))
                     for s in guide.sections)
    numbers: dict[str, int] = env["numbers"]
    cited = set(numbers)
    # declared but never cited: listed after the cited ones, so nothing declared is hidden
    for source_id in guide.sources:
        numbers.setdefault(source_id, len(numbers) + 1)
    references = []
    for source_id, number in sorted(numbers.items(), key=lambda item: item[1]):
        source = guide.sources.get(source_id)
        if source is None:  # the validator rejects guides citing undeclared sources
            continue
        tier = source.tier.value
        references.append(Reference(
            number=number, id=source_id, citation=source.citation, url=source.url,
            host=_host(source.url), tier=tier,
            tier_label=TIER_LABELS.get(tier, tier),
            tier_short=TIER_SHORT.get(tier, tier), cited=source_id in cited,
        ))
    return RenderedGuide(guide=guide, sections=sections, references=tuple(references))
