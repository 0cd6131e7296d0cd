"""Passages from curbside's own content (guides, knowledge base) and from MedQuAD.

* Guides: every section is split into passage-sized chunks (whole paragraphs and list items, up to
  about :data:`CHUNK_WORDS` words; a ``###`` sub-heading, as in the FAQ sections, starts a chunk of
  its own). A chunk keeps its guide's title, its section's title and id (in the passage id and in
  the URL ``/guides/<slug>#<section-id>``), its ``[S..]`` markers in the text and their ids.
* Knowledge base: one passage per condition description (``/api/v1/conditions/<id>``).
* MedQuAD (Ben Abacha & Demner-Fushman 2019, CC BY 4.0): one passage per question-answer pair that
  has an answer; the title is the question's focus, the section is the question, followed by the
  focus's synonyms as "(Also called: a; b)" when the document lists any.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from curbside.answerer.passages import Passage
from curbside.engine.kb import KnowledgeBase, read_knowledge_base
from curbside.engine.kb.load import Problem
from curbside.guides import Guide, cited_ids, read_guides
from curbside.settings import Settings

CHUNK_WORDS = 120
MAX_SYNONYMS = 6
MEDQUAD_LICENSE = "MedQuAD (Ben Abacha & Demner-Fushman, BMC Bioinformatics 2019), CC BY 4.0"

_SUBHEADING = re.compile(r"^#{3,6}\s+(?P<title>.+?)\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


class CorpusError(ValueError):
    """Content that cannot be turned into passages (a missing folder, no files, bad content)."""


@dataclass(frozen=True)
class GuideSource:
    """A guide's reference, kept so that ``[S..]`` markers can be shown with their text."""

    topic: str
    id: str
    citation: str
    url: str | None


# ---------------------------------------------------------------------------------------------
# Guides


def _blocks(markdown: str) -> Iterator[tuple[str | None, str]]:
    """(sub-heading, block) pairs: paragraphs and list items, each under its ``###`` heading."""
    heading: str | None = None
    current: list[str] = []
    for line in markdown.splitlines():
        sub = _SUBHEADING.match(line)
        if sub or not line.strip():
            if current:
                yield heading, "\n".join(current)
            current = []
            if sub:
                heading = sub.group("title")
            continue
        if _LIST_ITEM.match(line) and current:
            yield heading, "\n".join(current)
            current = []
        current.append(line.rstrip())
    if current:
        yield heading, "\n".join(current)


def _chunks(markdown: str, max_words: int) -> Iterator[tuple[str | None, str]]:
    """Blocks grouped into chunks of at most ``max_words`` (a longer block stays whole)."""
    heading: str | None = None
    parts: list[str] = []
    words = 0
    for sub, block in _blocks(markdown):
        size = len(block.split())
        if parts and (sub != heading or words + size > max_words):
            yield heading, "\n\n".join(parts)
            parts, words = [], 0
        heading = sub
        parts.append(block)
        words += size
    if parts:
        yield heading, "\n\n".join(parts)


def guide_passages(guides: Iterable[Guide], max_words: int = CHUNK_WORDS) -> list[Passage]:
    passages: list[Passage] = []
    for guide in guides:
        for section in guide.sections:
            for n, (sub, text) in enumerate(_chunks(section.markdown, max_words), start=1):
                ids = tuple(dict.fromkeys(cited_ids(text)))
                passages.append(Passage(
                    id=f"guide:{guide.slug}#{section.id}/{n}",
                    title=guide.title,
                    section=f"{section.title}: {sub}" if sub else section.title,
                    text=text,
                    url=f"/guides/{guide.slug}#{section.id}",
                    source="guide",
                    topic=guide.slug,
                    citations=ids,
                ))
    return passages


def guide_sources(guides: Iterable[Guide]) -> list[GuideSource]:
    return [GuideSource(guide.slug, source_id, source.citation, source.url)
            for guide in guides for source_id, source in guide.sources.items()]


# ---------------------------------------------------------------------------------------------
# Knowledge base


def kb_passages(kb: KnowledgeBase) -> list[Passage]:
    passages = []
    for condition in kb.conditions.values():
        title = condition.name
        if condition.lay_name and condition.lay_name.lower() != condition.name.lower():
            title = f"{condition.name} ({condition.lay_name})"
        passages.append(Passage(
            id=f"kb:{condition.id}",
            title=title,
            section="What is it?",
            text=condition.description.strip(),
            url=f"/api/v1/conditions/{condition.id}",
            source="kb",
            topic=condition.id,
            citations=tuple(condition.sources),
        ))
    return passages


@dataclass(frozen=True)
class LocalContent:
    """Guides and knowledge base as passages, with what topic boosting and display need."""

    passages: list[Passage]
    sources: list[GuideSource]
    related: dict[str, tuple[str, ...]]  # guide slug -> condition ids it covers


def read_local_content(settings: Settings | None = None) -> LocalContent:
    """The guides and knowledge-base packs named by ``settings``, as passages."""
    settings = settings or Settings()
    kb, kb_problems = read_knowledge_base(settings.pack_dirs, settings.alias_file)
    guides, guide_problems = read_guides(settings.guides_dir, kb.conditions)
    errors = [p for p in [*kb_problems, *guide_problems] if p.severity == "error"]
    if errors:
        raise CorpusError(_problems_text(errors))
    related: dict[str, list[str]] = {g.slug: list(g.conditions) for g in guides}
    for condition in kb.conditions.values():
        if condition.guide and condition.id not in related.setdefault(condition.guide, []):
            related[condition.guide].append(condition.id)
    return LocalContent(
        passages=guide_passages(guides) + kb_passages(kb),
        sources=guide_sources(guides),
        related={slug: tuple(ids) for slug, ids in related.items()},
    )


def _problems_text(problems: Sequence[Problem]) -> str:
    shown = "; ".join(str(p) for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return f"content has errors: {shown}{more}"


# ---------------------------------------------------------------------------------------------
# MedQuAD


def medquad_files(directory: Path) -> list[Path]:
    """The XML documents of a MedQuAD checkout (``<dir>/<collection>/*.xml``)."""
    if not directory.is_dir():
        raise CorpusError(f"MedQuAD folder not found: {directory}")
    files = sorted(directory.glob("*/*.xml"))
    if not files:
        raise CorpusError(f"no MedQuAD XML files (*/*.xml) under {directory}")
    return files


def _text(element: ET.Element | None) -> str:
    if element is None or element.text is None:
        return ""
    return " ".join(element.text.split())


def parse_medquad_file(path: Path) -> list[Passage]:
    """The answered question-answer pairs of one MedQuAD document."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise CorpusError(f"{path}: not readable MedQuAD XML: {exc}") from exc
    if root.tag in ("Document", "DiseaseFile"):  # one CDC file names its root DiseaseFile
        source = root.get("source") or path.parent.name
        doc_id = root.get("id") or root.get("fid") or path.stem
        focus = _text(root.find("Focus"))
        synonyms = [_text(s) for s in root.iterfind("FocusAnnotations/Synonyms/Synonym")]
        pair_tag, question_tag, answer_tag = "QAPair", "Question", "Answer"
    elif root.tag == "doc":  # a few NINDS files use an older lower-case schema
        source = root.get("corpus") or path.parent.name
        doc_id = root.get("docid") or path.stem
        focus = _text(root.find("doctitle-focus"))
        synonyms = []
        pair_tag, question_tag, answer_tag = "pair", "question", "answer"
    else:
        raise CorpusError(f"{path}: not a MedQuAD document (root element <{root.tag}>)")
    url = root.get("url") or ""
    passages: list[Passage] = []
    for pair in root.iter(pair_tag):
        question = _text(pair.find(question_tag))
        answer = _text(pair.find(answer_tag))
        if not answer or not question:
            continue
        names = [n for n in dict.fromkeys(synonyms) if n and n.lower() != focus.lower()]
        if names:  # as MedQuAD's own exports show them; the synonyms help matching
            question = f"{question} (Also called: {'; '.join(names[:MAX_SYNONYMS])})"
        passages.append(Passage(
            id=f"medquad:{source}_{doc_id}_Sec{pair.get('pid') or len(passages) + 1}",
            title=focus or question,
            section=question,
            text=answer,
            url=url,
            source="medquad",
            topic=None,
        ))
    return passages


def read_medquad(directory: Path,
                 progress: Callable[[int, int], None] | None = None) -> list[Passage]:
    """Every answered pair under ``directory``; ``progress(done, total)`` is called per file.

    Pairs with the same question and answer text (MedQuAD repeats some) are kept once; a pair
    whose id repeats within its document (a few CancerGov files reuse ``pid``) gets a suffix.
    """
    files = medquad_files(directory)
    seen: set[tuple[str, str]] = set()
    ids: set[str] = set()
    passages: list[Passage] = []
    for done, path in enumerate(files, start=1):
        for passage in parse_medquad_file(path):
            key = (passage.section.lower(), passage.text)
            if key in seen:
                continue
            seen.add(key)
            unique, n = passage.id, 1
            while unique in ids:
                n += 1
                unique = f"{passage.id}~{n}"
            ids.add(unique)
            passages.append(replace(passage, id=unique) if unique != passage.id else passage)
        if progress is not None:
            progress(done, len(files))
    return passages
