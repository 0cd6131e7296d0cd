"""Benchmark: the answerer's retrieval on other people's judged data, beside baselines, in one run.

    .venv/bin/python bench/retrieval.py [--data ../shared/data] [--index data/index.sqlite]
                                        [--skip-latency] [--skip-full] [--tune]

(a) LiveQA-Med 2017 test questions (TREC) against MedQuAD's 2,479 judged answers (Ben Abacha &
    Demner-Fushman 2019; grades 3-Incomplete and 4-Excellent are relevant, as in the MedQuAD
    readme): MRR@10 and P@1 re-ranking each question's judged pool, and retrieving from the full
    index (guides + knowledge base + MedQuAD, plus the judged answers whose text MedQuAD's public
    release removed: they come from the qrels CSV; unjudged answers count as not relevant).
    Queries: the consumer's SUBJECT + MESSAGE (headline) and the NIST paraphrase.
(b) MEDIQA 2019 Task 3 test set: re-rank each question's CHiQA answers; "correct first" is the
    share of questions whose top answer is correct (ReferenceScore 3-4), MRR is over correct
    answers. CHiQA's own order is the reference baseline.
(c) Latency of ``PassageIndex.search`` over the full index for questions of 50, 500 and 2,000
    characters (p50, p95; one process, FTS5 in a worker thread beside the embedding), and once
    more for 2,000 characters embedded whole (256 word pieces, as before condensing), for
    comparison under the same load.

``--tune`` fits the hybrid's weights on MEDIQA development data (without LiveQA test questions)
and estimates LiveQA MRR@10 on held-out halves (two fixed splits and 20 random ones); see
docs/answerer-retrieval.md.

Rankers, in the same run: BM25 (FTS5 bm25 over heading + text), dense (MiniLM cosine with the
passage text), naive hybrid (0.7 dense + 0.3 BM25, min-max scaled) and curbside's hybrid.
Vectors for the judged pools are cached in data/bench/ (built on the first run).
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import re
import statistics
import sys
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from curbside.answerer import index as index_module
from curbside.answerer.embed import MiniLMEmbedder, default_embedder
from curbside.answerer.index import PassageIndex, Ranker, Weights
from curbside.answerer.passages import Passage
from curbside.settings import Settings

REPO = Path(__file__).resolve().parents[1]
RANKERS: tuple[Ranker, ...] = ("bm25", "dense", "naive", "hybrid")
NAMES = {"bm25": "BM25", "dense": "dense (MiniLM)", "naive": "naive 0.7/0.3 hybrid",
         "hybrid": "curbside hybrid"}
console = Console(width=None if sys.stdout.isatty() else 120)
RANDOM_SPLITS = 20  # random two-fold splits of LiveQA for the held-out estimate (--tune)
PRIOR = 0.5  # weight of CHiQA's own rank when fused (for reference: the development sets now prefer 0)


# ---------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class Query:
    key: str
    text: str
    candidates: tuple[str, ...] | None  # passage ids to re-rank; None: the whole index
    relevant: frozenset[str]
    order: tuple[str, ...] = ()  # a reference system's order (CHiQA), if any


def liveqa_questions(data: Path) -> dict[int, tuple[str, str]]:
    """Question number -> (SUBJECT + MESSAGE, NIST paraphrase)."""
    path = data / "liveqa_trec2017_medical/TestDataset/TREC-2017-LiveQA-Medical-Test.xml"
    out: dict[int, tuple[str, str]] = {}
    for node in ET.parse(path).getroot().iter("NLM-QUESTION"):
        number = int((node.get("qid") or "TQ0")[2:])
        subject = (node.findtext("Original-Question/SUBJECT") or "").strip()
        message = (node.findtext("Original-Question/MESSAGE") or "").strip()
        paraphrase = (node.findtext("NIST-PARAPHRASE") or "").strip()
        consumer = f"{subject}. {message}" if subject and message else subject or message
        out[number] = (" ".join(consumer.split()), " ".join(paraphrase.split()))
    return out


_CSV_ANSWER = re.compile(r"\AQuestion:\s*(?P<q>.*?)\s*URL:\s*(?P<url>\S*)\s*Answer:\s*(?P<a>.*)\Z",
                         re.DOTALL)
_ALSO = re.compile(r"\s*\(Also called:.*\)\s*$")
# MedQuAD's question templates around the focus (the zip's CSV gives the question, not the
# focus that MedQuAD's XML carries): "What are the side effects or risks of X ?" -> "X".
_FOCUS = re.compile(r"^(?:what (?:is|are) \(are\)|what causes|what are the (?:\w+ )?(?:\w+ )?(?:of|for)|"
                    r"how to (?:diagnose|prevent)|who is at risk for|is|how many people are "
                    r"affected by|what to do for|what research \(or clinical trials\) is being "
                    r"done for|do you have information about|what are the genetic changes related "
                    r"to|what is the outlook for|do i need to see a doctor for|what other information "
                    r"should i know about|what are the side effects or risks of|what should i do if i "
                    r"forget a dose of|what to do in case of (?:an? )?(?:emergency or overdose of|"
                    r"severe reaction to)|where to find support for(?: people with)?|how can i learn "
                    r"more about|what should i know about storage and disposal of|are there safety "
                    r"concerns or special precautions about|what special dietary instructions should "
                    r"i follow with|what important warning or information should i know about|what is "
                    r"the (?:action|dosage) of|what are the brand names of|who should get|how should|"
                    r"are there interactions between|why get vaccinated with|what are the treatments "
                    r"for|what are the symptoms of)\s+", re.IGNORECASE)
_FOCUS_END = re.compile(r"\s+(?:and why is it prescribed|be used and what is the dosage|and other "
                        r"medications|and (?:herbs|supplements|drugs)[\w ,]*)\s*$", re.IGNORECASE)


def _focus_of(question: str) -> str:
    focus = _ALSO.sub("", question).rstrip(" ?")
    focus = _FOCUS_END.sub("", _FOCUS.sub("", focus)).rstrip(" ?")
    return focus or question


def liveqa_pool(data: Path) -> tuple[dict[int, dict[str, int]], dict[str, Passage]]:
    """Judgments (question -> passage id -> grade 1-4) and the judged answers as passages."""
    archive = data / "medquad/QA-TestSet-LiveQA-Med-Qrels-2479-Answers.zip"
    judged: dict[int, dict[str, int]] = {}
    answers: dict[str, Passage] = {}
    with zipfile.ZipFile(archive) as zf:
        names = [n for n in zf.namelist() if not n.startswith("__MACOSX")]
        qrels = next(n for n in names if n.endswith(".txt"))
        for line in zf.read(qrels).decode("utf-8").splitlines():
            parts = line.split()
            if len(parts) == 3:
                number, grade, answer = parts
                judged.setdefault(int(number), {})[f"medquad:{answer.removesuffix('.txt')}"] = int(
                    grade.split("-")[0])
        table = next(n for n in names if n.endswith(".csv"))
        csv.field_size_limit(1 << 30)
        reader = csv.reader(io.TextIOWrapper(zf.open(table), encoding="utf-8", errors="replace"))
        next(reader)
        for row in reader:
            if len(row) < 2:
                continue
            pid = f"medquad:{row[0].removesuffix('.txt')}"
            found = _CSV_ANSWER.match(row[1].strip())
            if found is None:
                continue
            question = " ".join(found.group("q").split())
            text = " ".join(found.group("a").split()).removesuffix(")").strip()
            answers[pid] = Passage(id=pid, title=_focus_of(question), section=question, text=text,
                                   url=found.group("url"), source="medquad", topic=None)
    return judged, answers


def liveqa_queries(questions: dict[int, tuple[str, str]], judged: dict[int, dict[str, int]],
                   which: int, pooled: bool) -> list[Query]:
    queries = []
    for number, grades in sorted(judged.items()):
        relevant = frozenset(pid for pid, grade in grades.items() if grade >= 3)
        if not relevant or number not in questions or not questions[number][which]:
            continue
        queries.append(Query(str(number), questions[number][which],
                             tuple(grades) if pooled else None, relevant))
    return queries


_TITLE = re.compile(r"^(?P<title>[^:]{2,120}):\s+(?P<rest>.+)$", re.DOTALL)
_SECTION = re.compile(r"^(?P<focus>.+?)\s*\((?P<section>[^()]+)\)$")
_WHAT_IS = re.compile(r"^What (?:is|are) (?P<focus>.+?)\?$", re.IGNORECASE)


def _label(answer: str) -> tuple[str, str]:
    """CHiQA's answers start with their label: "Focus (Section): …", "What is Focus?: …" or
    "Focus: …". Returns (focus, section), the section being what the answer is about."""
    found = _TITLE.match(answer)
    if found is None:
        return answer[:60], ""
    label = found.group("title").strip()
    if (what := _WHAT_IS.match(label)) is not None:
        return what.group("focus"), label
    if (part := _SECTION.match(label)) is not None:
        return part.group("focus"), part.group("section")
    return label, ""


def mediqa(path: Path) -> tuple[list[Query], dict[str, Passage]]:
    queries: list[Query] = []
    passages: dict[str, Passage] = {}
    for node in ET.parse(path).getroot().iter("Question"):
        qid = node.get("QID") or ""
        text = " ".join((node.findtext("QuestionText") or "").split())
        candidates, relevant, ranked = [], set(), []
        for answer in node.iter("Answer"):
            aid = f"mediqa:{answer.get('AID')}"
            body = " ".join((answer.findtext("AnswerText") or "").split())
            title, section = _label(body)
            passages[aid] = Passage(id=aid, title=title, section=section, text=body,
                                    url=(answer.findtext("AnswerURL") or "").strip(),
                                    source="mediqa", topic=None)
            candidates.append(aid)
            if int(answer.get("ReferenceScore") or 0) >= 3:
                relevant.add(aid)
            ranked.append((int(answer.get("SystemRank") or 0), aid))
        if candidates:
            queries.append(Query(qid, text, tuple(candidates), frozenset(relevant),
                                 tuple(a for _, a in sorted(ranked))))
    return queries, passages


def rqe(path: Path) -> tuple[list[Query], dict[str, Passage]]:
    """MEDIQA 2019 Task 2 pairs as re-ranking: each consumer question's FAQ questions, the
    entailed ones relevant. FAQs become passages whose heading is the question (no text)."""
    grouped: dict[str, list[tuple[str, bool]]] = {}
    for node in ET.parse(path).getroot().iter("pair"):
        chq = " ".join((node.findtext("chq") or "").split())
        faq = " ".join((node.findtext("faq") or "").split())
        grouped.setdefault(chq, []).append((faq, node.get("value") == "true"))
    queries: list[Query] = []
    passages: dict[str, Passage] = {}
    for n, (chq, faqs) in enumerate(grouped.items()):
        if not any(label for _, label in faqs) or all(label for _, label in faqs):
            continue
        ids = []
        for m, (faq, _label) in enumerate(faqs):
            pid = f"rqe:{n}-{m}"
            passages[pid] = Passage(id=pid, title=_focus_of(faq), section=faq, text="",
                                    url="", source="medquad", topic=None)
            ids.append(pid)
        relevant = frozenset(pid for pid, (_, label) in zip(ids, faqs, strict=True) if label)
        queries.append(Query(str(n), chq, tuple(ids), relevant))
    return queries, passages


def cached_index(name: str, passages: Sequence[Passage], reuse: Sequence[PassageIndex] = ()
                 ) -> PassageIndex:
    """An index of ``passages`` in data/bench/<name>.sqlite, re-embedding only what changed."""
    path = REPO / "data" / "bench" / f"{name}.sqlite"
    previous = PassageIndex.open(path) if path.is_file() else None
    if previous is not None:
        digests = previous.digests()
        if len(digests) == len(passages) and all(
                digests.get(p.id) == p.digest and previous.get(p.id) == p for p in passages):
            return previous
    console.print(f"[dim]building {path.relative_to(REPO)} ({len(passages)} passages)…[/]")
    index = PassageIndex.build(list(passages), default_embedder(), path,
                               reuse=previous or (reuse[0] if reuse else None))
    if previous is not None:
        previous.close()
    return index


# ---------------------------------------------------------------------------------------------
# Metrics


@dataclass(frozen=True)
class Score:
    mrr10: float
    p1: float
    mrr: float
    count: int


def evaluate(index: PassageIndex, queries: Sequence[Query], ranker: Ranker,
             topic: str | None = None, *, support: PassageIndex | None = None,
             prior: float = 0.0) -> Score:
    """MRR@10, P@1 and MRR of ``ranker``; ``prior`` > 0 adds the reference order (CHiQA's rank),
    z-normalised like the other signals, with that weight."""
    mrr10 = p1 = mrr = 0.0
    for query in queries:
        k = len(query.candidates) if query.candidates is not None else 10
        hits = index.search(query.text, topic, k=k, candidates=query.candidates, ranker=ranker,
                            support=support)
        ranked = [h.passage.id for h in hits]
        if prior and query.order and len(hits) > 1:
            scores = np.array([h.score for h in hits])
            places = np.array([query.order.index(pid) if pid in query.order else len(query.order)
                               for pid in ranked], dtype=float)
            fused = _z(scores) - prior * _z(places)
            ranked = [ranked[i] for i in np.argsort(-fused, kind="stable")]
        if query.candidates is not None:  # unranked candidates (no signal at all) go last
            ranked += [c for c in query.candidates if c not in set(ranked)]
        mrr10 += _reciprocal(ranked[:10], query.relevant)
        mrr += _reciprocal(ranked, query.relevant)
        p1 += 1.0 if ranked and ranked[0] in query.relevant else 0.0
    n = max(len(queries), 1)
    return Score(mrr10 / n, p1 / n, mrr / n, len(queries))


def _z(values: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    std = values.std()
    return (values - values.mean()) / std if std > 1e-12 else values * 0.0


def reference_order(queries: Sequence[Query]) -> Score:
    mrr10 = p1 = mrr = 0.0
    for query in queries:
        mrr10 += _reciprocal(list(query.order[:10]), query.relevant)
        mrr += _reciprocal(list(query.order), query.relevant)
        p1 += 1.0 if query.order and query.order[0] in query.relevant else 0.0
    n = max(len(queries), 1)
    return Score(mrr10 / n, p1 / n, mrr / n, len(queries))


def _reciprocal(ranked: Sequence[str], relevant: frozenset[str]) -> float:
    for n, pid in enumerate(ranked, start=1):
        if pid in relevant:
            return 1.0 / n
    return 0.0


# ---------------------------------------------------------------------------------------------
# Runs


def run_liveqa(data: Path, full: PassageIndex | None) -> None:
    questions = liveqa_questions(data)
    judged, answers = liveqa_pool(data)
    pool = cached_index("liveqa-pool", sorted(answers.values(), key=lambda p: p.id),
                        reuse=[full] if full is not None else [])
    table = Table(title="LiveQA-Med 2017 test questions vs MedQuAD judged answers (grades 3-4)")
    table.add_column("ranker")
    for label in ("pool MRR@10", "pool P@1", "paraphrase MRR@10", "paraphrase P@1",
                  "full index MRR@10", "full index P@1"):
        table.add_column(label, justify="right")
    runs: list[tuple[PassageIndex | None, list[Query]]] = [
        (pool, liveqa_queries(questions, judged, 0, pooled=True)),
        (pool, liveqa_queries(questions, judged, 1, pooled=True)),
    ]
    if full is not None:
        extra = [p for pid, p in answers.items() if full.get(pid) is None]
        console.print(f"[dim]full index + {len(extra)} judged answers missing from MedQuAD's "
                      f"public release…[/]")
        combined = PassageIndex.build(list(full.passages) + extra, default_embedder(), None,
                                      reuse=[full, pool],
                                      sources=full.sources(),
                                      related={t: sorted(c) for t, c in full.related.items()})
        runs.append((combined, liveqa_queries(questions, judged, 0, pooled=False)))
    for ranker in RANKERS:
        cells: list[str] = []
        for index, queries in runs:
            assert index is not None
            score = evaluate(index, queries, ranker)
            cells += [f"{score.mrr10:.3f}", f"{score.p1:.3f}"]
        if full is None:
            cells += ["–", "–"]
        table.add_row(NAMES[ranker], *cells)
    n = len(runs[0][1])
    mean_pool = statistics.mean(len(j) for j in judged.values())
    table.caption = (f"{n} questions with at least one relevant judged answer; pool: each "
                     f"question's judged answers (mean {mean_pool:.0f}); "
                     f"headline: consumer SUBJECT + MESSAGE, pool MRR@10")
    console.print(table)


def run_mediqa(data: Path, full: PassageIndex | None) -> None:
    folder = data / "mediqa2019/MEDIQA_Task3_QA"
    queries, passages = mediqa(folder / "MEDIQA2019-Task3-QA-TestSet-wLabels.xml")
    index = cached_index("mediqa-test", sorted(passages.values(), key=lambda p: p.id))
    table = Table(title="MEDIQA 2019 Task 3 (QA) test set: re-ranking CHiQA's answers")
    for label in ("ranker", "correct first", "MRR"):
        table.add_column(label, justify="right" if label != "ranker" else "left")
    reference = reference_order(queries)
    table.add_row("CHiQA (SystemRank, reference)", f"{reference.p1:.3f}", f"{reference.mrr:.3f}")
    for ranker in RANKERS:
        score = evaluate(index, queries, ranker)
        table.add_row(NAMES[ranker], f"{score.p1:.3f}", f"{score.mrr:.3f}")
    if full is not None:
        score = evaluate(index, queries, "hybrid", support=full)
        table.add_row("curbside hybrid + MedQuAD support", f"{score.p1:.3f}", f"{score.mrr:.3f}")
    score = evaluate(index, queries, "hybrid", support=full, prior=PRIOR)
    table.add_row(f"… + CHiQA's rank (weight {PRIOR})", f"{score.p1:.3f}", f"{score.mrr:.3f}")
    answerable = sum(1 for q in queries if q.relevant)
    table.caption = (f"{len(queries)} questions ({answerable} with a correct answer), "
                     f"{len(passages)} answers; correct = ReferenceScore 3 or 4")
    console.print(table)


def _overlaps_liveqa(data: Path) -> Callable[[str], bool]:
    """Whether a question is one of the LiveQA test questions (most words shared): some MEDIQA
    development questions are, and they must not take part in tuning."""
    test = [set(q.lower().split()) for q, _ in liveqa_questions(data).values()]

    def overlaps(text: str) -> bool:
        mine = set(text.lower().split())
        return any(len(mine & other) / max(len(mine | other), 1) > 0.5 for other in test)

    return overlaps


@dataclass(frozen=True)
class _Table:
    """One question's candidates: the hybrid's signals and which candidates are relevant."""

    features: dict[str, np.ndarray]  # type: ignore[type-arg]
    relevant: np.ndarray  # type: ignore[type-arg]


def _tables(index: PassageIndex, queries: Sequence[Query]) -> list[_Table]:
    out = []
    for query in queries:
        ids, features = index.signal_table(query.text, query.candidates or ())
        out.append(_Table(features, np.array([pid in query.relevant for pid in ids])))
    return out


def _ranked(tables: Sequence[_Table], weights: Weights) -> Score:
    mrr10 = p1 = mrr = 0.0
    for table in tables:
        order = np.argsort(-PassageIndex.combine(table.features, weights), kind="stable")
        found = np.nonzero(table.relevant[order])[0]
        if found.size:
            rank = int(found[0]) + 1
            mrr += 1 / rank
            mrr10 += 1 / rank if rank <= 10 else 0.0
            p1 += rank == 1
    n = max(len(tables), 1)
    return Score(mrr10 / n, p1 / n, mrr / n, len(tables))


def _ranknet(groups: Sequence[Sequence[_Table]], l2: float = 0.01, steps: int = 3000) -> Weights:
    """Linear weights by pairwise logistic loss (RankNet; each question weighs the same): a
    smooth fit that does not hang on a few questions, used as the coordinate search's start."""
    names = index_module.FEATURES
    rows, weights = [], []
    for tables in groups:
        for table in tables:
            matrix = np.stack([table.features[n] for n in names], axis=1)
            good, bad = np.nonzero(table.relevant)[0], np.nonzero(~table.relevant)[0]
            if good.size and bad.size:
                pairs = (matrix[good][:, None, :] - matrix[bad][None, :, :]).reshape(-1, len(names))
                rows.append(pairs)
                weights.append(np.full(len(pairs), 1.0 / len(pairs)))
    x, g = np.concatenate(rows), np.concatenate(weights)
    g = g / g.sum()
    w = np.ones(len(names))
    for _step in range(steps):
        p = 1.0 / (1.0 + np.exp(np.clip(x @ w, -30, 30)))
        w -= 0.5 * (-(x * (g * p)[:, None]).sum(axis=0) + l2 * w)
    return Weights(**{n: round(float(v) * 4) / 4 for n, v in zip(names, w, strict=True)})


def tune(data: Path) -> None:
    """Tune the hybrid's signal weights; estimate LiveQA MRR@10 on held-out questions.

    Development data: MEDIQA Task 3's training (Alexa) and validation sets (answer re-ranking)
    and MEDIQA Task 2's validation set (question entailment: a consumer question's FAQ
    questions), without the questions that are LiveQA test questions (MEDIQA's TrainingSet1 is
    all of them; a few more are in the other sets). LiveQA has no development split, so it is used
    by two-fold cross-validation: weights tuned on the development data plus half of the LiveQA
    questions are scored on the other half, for two ways of halving (alternate questions, first
    and second half). Tuning: a RankNet fit, then a coordinate search of the weights from there
    (objective: P@1 + MRR summed over the sets). The shipped weights are tuned on the
    development data plus all of LiveQA.
    """
    overlaps = _overlaps_liveqa(data)
    folder = data / "mediqa2019/MEDIQA_Task3_QA"
    queries: list[Query] = []
    passages: dict[str, Passage] = {}
    for name in ("MEDIQA2019-Task3-QA-TrainingSet2-Alexa.xml", "MEDIQA2019-Task3-QA-ValidationSet.xml"):
        found, answers = mediqa(folder / name)
        prefix = name.split("-")[3]
        queries += [replace(q, key=f"{prefix}:{q.key}",
                            candidates=tuple(f"{prefix}:{c}" for c in q.candidates or ()),
                            relevant=frozenset(f"{prefix}:{c}" for c in q.relevant),
                            order=tuple(f"{prefix}:{c}" for c in q.order)) for q in found]
        passages.update({f"{prefix}:{pid}": replace(p, id=f"{prefix}:{pid}")
                         for pid, p in answers.items()})
    index = cached_index("mediqa-tuning", sorted(passages.values(), key=lambda p: p.id))
    queries = [q for q in queries if q.relevant and not overlaps(q.text)]
    index_module.RECENT_QUERIES = 100_000  # each question is embedded once for the whole search
    rqe_queries, rqe_passages = rqe(data / "mediqa2019/MEDIQA_Task2_RQE/"
                                    "MEDIQA2019-Task2-RQE-ValidationSet-AMIA2016.xml")
    rqe_queries = [q for q in rqe_queries if not overlaps(q.text)]
    rqe_index = cached_index("rqe-validation", sorted(rqe_passages.values(), key=lambda p: p.id))
    judged, answers = liveqa_pool(data)
    pool = cached_index("liveqa-pool", sorted(answers.values(), key=lambda p: p.id))
    liveqa = liveqa_queries(liveqa_questions(data), judged, 0, pooled=True)
    development = [_tables(index, queries), _tables(rqe_index, rqe_queries)]
    live = _tables(pool, liveqa)
    console.print(f"development: {len(queries)} MEDIQA Task 3 + {len(rqe_queries)} RQE questions "
                  f"(LiveQA test questions removed); LiveQA: {len(live)} questions")

    def objective(weights: Weights, groups: Sequence[Sequence[_Table]]) -> float:
        total = 0.0
        for tables in groups:
            score = _ranked(tables, weights)
            total += score.p1 + score.mrr
        return total

    def search(groups: Sequence[Sequence[_Table]]) -> Weights:
        best = _ranknet(groups)
        best_score = objective(best, groups)
        grid = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0)
        for _round, name in itertools.product(range(2), index_module.FEATURES):
            for value in grid:
                trial = replace(best, **{name: value})
                score = objective(trial, groups)
                if score > best_score + 1e-9:
                    best, best_score = trial, score
        return best

    def shown(weights: Weights) -> str:
        return ", ".join(f"{n} {getattr(weights, n)}" for n in index_module.FEATURES)

    for label, folds in (("alternate questions", [live[0::2], live[1::2]]),
                         ("first / second half", [live[:len(live) // 2], live[len(live) // 2:]])):
        total = 0.0
        for n, held_out in enumerate(folds):
            weights = search([*development, folds[1 - n]])
            score = _ranked(held_out, weights)
            total += score.mrr10 * len(held_out)
            console.print(f"{label}, fold {n}: {shown(weights)} -> held-out LiveQA MRR@10 "
                          f"{score.mrr10:.3f}, P@1 {score.p1:.3f} ({score.count} questions)")
        console.print(f"[bold]{label}: held-out LiveQA MRR@10 {total / len(live):.3f}[/]")
    # Which half a question falls in moves the estimate by a few points (39 questions a side):
    # the mean over random halvings is the steadier figure.
    generator = np.random.default_rng(0)
    estimates = []
    for _split in range(RANDOM_SPLITS):
        order = generator.permutation(len(live))
        halves = [[live[i] for i in order[:len(live) // 2]], [live[i] for i in order[len(live) // 2:]]]
        total = 0.0
        for n, held_out in enumerate(halves):
            total += _ranked(held_out, search([*development, halves[1 - n]])).mrr10 * len(held_out)
        estimates.append(total / len(live))
    console.print(f"[bold]{RANDOM_SPLITS} random halvings: held-out LiveQA MRR@10 mean "
                  f"{statistics.mean(estimates):.3f} (sd {statistics.pstdev(estimates):.3f}, "
                  f"{min(estimates):.3f}-{max(estimates):.3f})[/]")
    weights = search(development)
    score = _ranked(live, weights)
    console.print(f"development data only: {shown(weights)} -> LiveQA MRR@10 {score.mrr10:.3f}, "
                  f"P@1 {score.p1:.3f} (no LiveQA question used)")
    final = search([*development, live])
    console.print(f"[bold]shipped (development + all LiveQA):[/] {final}")
    index.weights = final
    path = Settings().resolved_index_path
    full = PassageIndex.open(path) if path.is_file() else None
    grid = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
    if full is not None:  # the support index's weight, on MEDIQA's development questions
        scores = {}
        for value in grid:
            index.weights = replace(final, support=value)
            found = evaluate(index, queries, "hybrid", support=full)
            scores[value] = found.p1 + found.mrr
        best = max(scores, key=lambda v: (scores[v], -v))
        final = replace(final, support=best)
        console.print(f"support weight (MEDIQA development): {best} "
                      f"({', '.join(f'{v}: {x:.3f}' for v, x in scores.items())})")
    index.weights = final
    priors = {}
    for value in grid:
        found = evaluate(index, queries, "hybrid", support=full, prior=value)
        priors[value] = found.p1 + found.mrr
    console.print(f"CHiQA rank weight (MEDIQA development): {max(priors, key=lambda v: priors[v])} "
                  f"({', '.join(f'{v}: {x:.3f}' for v, x in priors.items())})")


def run_latency(full: PassageIndex, data: Path, repeats: int) -> None:
    """search() timings for questions cut from the LiveQA messages. The last row embeds the
    whole 2,000-character question (256 word pieces, as before condensing) in the same run, so
    the two can be compared under the same load."""
    questions = liveqa_questions(data)
    stream = " ".join(q[0] for _, q in sorted(questions.items()))
    words = stream.split()
    table = Table(title=f"search() latency over the full index ({len(full)} passages)")
    for label in ("question length", "queries", "p50 ms", "p95 ms", "max ms", "embed p50 ms",
                  "word pieces embedded (max)"):
        table.add_column(label, justify="right")
    embedder = full.embedder
    budget = index_module.EMBED_TOKENS
    for length, tokens in ((50, budget), (500, budget), (2000, budget), (2000, 256)):
        index_module.EMBED_TOKENS = tokens
        texts = []
        for n in range(repeats):
            start = (n * 97) % max(len(words) - 600, 1)
            text = ""
            for word in words[start:]:
                if len(text) + len(word) + 1 > length:
                    break
                text = f"{text} {word}".strip()
            texts.append(text)
        for text in texts[:3]:  # warm-up
            full.search(text)
        times, embeds, pieces = [], [], []
        for text in texts:
            index_module._RECENT.clear()  # a new question each time, as in use
            began = time.perf_counter()
            full.search(text)
            times.append((time.perf_counter() - began) * 1000)
            if embedder is not None:  # what search() embeds: the condensed question
                embedded = full.condensed(text)
                began = time.perf_counter()
                embedder.embed([embedded])
                embeds.append((time.perf_counter() - began) * 1000)
                pieces.append(len(embedder.tokenize([embedded])[0]) if isinstance(
                    embedder, MiniLMEmbedder) else 0)
        times.sort()
        label = str(length) if tokens == budget else f"{length}, not condensed"
        table.add_row(label, str(len(times)), f"{statistics.median(times):.1f}",
                      f"{times[int(0.95 * (len(times) - 1))]:.1f}", f"{times[-1]:.1f}",
                      f"{statistics.median(embeds):.1f}" if embeds else "–",
                      str(max(pieces)) if pieces else "–")
    index_module.EMBED_TOKENS = budget
    console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--index", type=Path, default=None,
                        help="full index (default: settings; build it with 'curbside index build')")
    parser.add_argument("--skip-full", action="store_true", help="skip full-index runs")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--latency-only", action="store_true")
    parser.add_argument("--repeats", type=int, default=60, help="queries per latency length")
    parser.add_argument("--tune", action="store_true", help="tune hybrid weights (no test data)")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        console.print(f"[red]no data folder at {args.data}[/]")
        return 2
    if args.tune:
        tune(args.data)
        return 0
    path = args.index or Settings().resolved_index_path
    full = None
    if not args.skip_full:
        if path.is_file():
            full = PassageIndex.open(path)
        else:
            console.print(f"[yellow]no full index at {path}: full-index runs skipped "
                          f"(curbside index build --medquad {args.data / 'medquad'})[/]")
    if not args.latency_only:
        run_liveqa(args.data, full)
        run_mediqa(args.data, full)
    if full is not None and not args.skip_latency:
        run_latency(full, args.data, args.repeats)
    return 0

if __name__ == "__main__":
    sys.exit(main())
