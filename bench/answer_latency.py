"""Benchmark: whole ``Answerer.ask`` latency (safety, retrieval, composition, post-check).

    .venv/bin/python bench/answer_latency.py [--data ../shared/data] [--index data/index.sqlite]
                                             [--repeats 40] [--packs thigh-groin,general,symcat]

The answerer is built as ``curbside ask`` builds it: the default packs, the index file of the
settings (guides + knowledge base + MedQuAD after ``curbside index build --medquad ...``) and the
offline extractive backend. One warm-up call, then each question once, single-threaded.

Questions are real consumer texts, never generated words:
- about 50 characters: questions of 40-60 characters from LiveQA 2017, MedicationQA, K-QA and the
  QA sample and dev files, as typed;
- about 500 and 2,000 characters: real questions (LiveQA messages are long) of 450-500 and
  1,800-2,000 characters where they exist, otherwise consecutive real questions concatenated
  (each kept whole) up to the length, as a long message with several questions in it would be.

Besides p50/p95 of the whole call it prints where the time goes, from timing wrappers around the
answerer's own parts: ``safety`` (SafetyChecker.assess), ``search`` (the index), ``compose`` (the
backend) and the rest (cleaning, post-check, citations).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from curbside.answerer.backends.extractive import ExtractiveBackend
from curbside.answerer.compose import CompositionRequest, Draft, HitLike
from curbside.answerer.safety import MAX_QUESTION_CHARS, SafetyAssessment, SafetyChecker
from curbside.answerer.service import Answerer, SearchIndex, open_index
from curbside.engine.session import Engine
from curbside.settings import Settings

REPO = Path(__file__).resolve().parents[1]
LENGTHS = (50, 500, 2000)
console = Console(width=None if sys.stdout.isatty() else 130)


# ---------------------------------------------------------------------------------------------
# Real questions


def real_questions(data: Path) -> list[str]:
    """Consumer questions as people typed them, in a fixed order (no sampling: reproducible)."""
    out: list[str] = []
    liveqa = data / "liveqa_trec2017_medical/TestDataset/TREC-2017-LiveQA-Medical-Test.xml"
    if liveqa.is_file():
        for node in ET.parse(liveqa).getroot().iter("NLM-QUESTION"):
            subject = (node.findtext("Original-Question/SUBJECT") or "").strip()
            message = (node.findtext("Original-Question/MESSAGE") or "").strip()
            out.append(" ".join(f"{subject}. {message}".split()) if subject else
                       " ".join(message.split()))
    medication = data / "medicationqa/MedInfo2019-QA-Medications.derived.csv"
    if medication.is_file():
        with medication.open(newline="", encoding="utf-8") as handle:
            out += [" ".join(row["Question"].split()) for row in csv.DictReader(handle)]
    kqa = data / "k-qa/dataset/questions.jsonl"
    if kqa.is_file():
        with kqa.open(encoding="utf-8") as handle:
            out += [" ".join(json.loads(line)["Question"].split()) for line in handle if line.strip()]
    for qa in (REPO.parent / "shared/clinical/qa/thigh-qa-samples.json",
               REPO / "tests/answerer/qa-dev.json"):
        if qa.is_file():
            out += [str(q["question"]) for q in json.loads(qa.read_text())["questions"]]
    return [q for q in dict.fromkeys(out) if q and len(q) <= MAX_QUESTION_CHARS]


def questions_of_length(pool: Sequence[str], length: int, count: int) -> list[str]:
    """``count`` texts of about ``length`` characters: real questions of that length first, then
    consecutive real questions joined whole (never cut mid-word) up to the length."""
    low = int(length * 0.8) if length <= 50 else int(length * 0.9)
    high = int(length * 1.2) if length <= 50 else length
    chosen = [q for q in pool if low <= len(q) <= high][:count]
    for joined in _concatenations(pool, low, high):
        if len(chosen) >= count:
            break
        chosen.append(joined)
    return chosen[:count]


def _concatenations(pool: Sequence[str], low: int, high: int) -> Iterator[str]:
    start = 0
    while start < len(pool):
        parts: list[str] = []
        size = 0
        index = start
        while index < len(pool) and size + len(pool[index]) + 1 <= high:
            parts.append(pool[index])
            size += len(pool[index]) + 1
            index += 1
        text = " ".join(parts)
        if low <= len(text) <= high:
            yield text
        start = max(index, start + 1)


# ---------------------------------------------------------------------------------------------
# Timing wrappers around the answerer's parts


class Clock:
    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def add(self, part: str, began: float) -> None:
        self.spent[part] = self.spent.get(part, 0.0) + (time.perf_counter() - began) * 1000


class TimedSafety(SafetyChecker):
    def __init__(self, engine: Engine, clock: Clock) -> None:
        super().__init__(engine)
        self.clock = clock

    def assess(self, question: str, history: Sequence[str] = ()) -> SafetyAssessment:
        began = time.perf_counter()
        try:
            return super().assess(question, history)
        finally:
            self.clock.add("safety", began)


class TimedIndex:
    def __init__(self, index: SearchIndex, clock: Clock) -> None:
        self.index = index
        self.clock = clock

    def search(self, query: str, topic: str | None = None, k: int = 10) -> Sequence[HitLike]:
        began = time.perf_counter()
        try:
            return self.index.search(query, topic=topic, k=k)
        finally:
            self.clock.add("search", began)


class TimedBackend(ExtractiveBackend):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def compose(self, request: CompositionRequest) -> Draft:
        began = time.perf_counter()
        try:
            return super().compose(request)
        finally:
            self.clock.add("compose", began)


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--index", type=Path, default=None,
                        help="index file (default: the settings'; built by 'curbside index build')")
    parser.add_argument("--repeats", type=int, default=40, help="questions per length")
    parser.add_argument("--packs", default=None, help="comma-separated packs (default: settings)")
    parser.add_argument("--allow-small-index", action="store_true",
                        help="without an index file, use the in-memory guides + KB index")
    args = parser.parse_args(argv)

    settings = Settings()
    if args.packs:
        settings = settings.model_copy(update={"packs": args.packs.split(",")})
    if args.index:
        settings = settings.model_copy(update={"index_path": args.index})
    path = settings.resolved_index_path
    if not path.is_file() and not args.allow_small_index:
        console.print(f"[red]no index at {path}: build it with "
                      f"'curbside index build --medquad {args.data / 'medquad'}'[/]")
        return 2
    began = time.perf_counter()
    engine = Engine.from_packs(settings.pack_dirs, alias_file=settings.alias_file)
    index = open_index(settings)
    clock = Clock()
    answerer = Answerer(engine, TimedIndex(index, clock), TimedBackend(clock),
                        safety=TimedSafety(engine, clock))
    console.print(f"packs {', '.join(settings.packs)}; index {path} "
                  f"({len(index) if hasattr(index, '__len__') else '?'} passages); "
                  f"start-up {time.perf_counter() - began:.1f} s")

    pool = real_questions(args.data)
    answerer.ask(pool[0])  # warm-up: first-call caches (SQLite pages, NumPy, the tokenizer)
    table = Table(title="Answerer.ask latency (offline extractive backend, warm, one thread)")
    for label in ("length", "questions", "mean chars", "p50 ms", "p95 ms", "max ms",
                  "safety p50", "search p50", "compose p50", "rest p50"):
        table.add_column(label, justify="right")
    for length in LENGTHS:
        texts = questions_of_length(pool, length, args.repeats)
        totals: list[float] = []
        parts: dict[str, list[float]] = {"safety": [], "search": [], "compose": [], "rest": []}
        for text in texts:
            clock.spent.clear()
            started = time.perf_counter()
            answerer.ask(text)
            total = (time.perf_counter() - started) * 1000
            totals.append(total)
            for part in ("safety", "search", "compose"):
                parts[part].append(clock.spent.get(part, 0.0))
            parts["rest"].append(total - sum(clock.spent.values()))
        table.add_row(
            str(length), str(len(texts)), f"{statistics.mean(len(t) for t in texts):.0f}",
            f"{statistics.median(totals):.1f}", f"{percentile(totals, 0.95):.1f}",
            f"{max(totals):.1f}",
            *(f"{statistics.median(parts[p]):.1f}" for p in ("safety", "search", "compose", "rest")))
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
