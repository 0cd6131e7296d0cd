"""The passage index: one SQLite file with an FTS5 table, the passages and their vectors.

Layout (``FORMAT`` 1)::

    meta(key, value)                        format, model, dim, counts, build time
    passages(rowid, id, title, section, text, url, source, topic, citations, digest)
    fts  FTS5(heading, body)                contentless; porter + unicode61; rowid = passages.rowid
    fts_vocab  fts5vocab(fts, 'row')        document frequencies, used to pick query terms
    vectors(rowid, heading, body)           float32 blobs, 384 values each (L2-normalised)
    sources(topic, id, citation, url)       a guide's [S..] references, for display
    related(topic, condition)               guide slug -> knowledge-base conditions it covers

``heading`` is what a passage answers (a MedQuAD question, or "guide title: section title");
``body`` is its text. Both are indexed lexically and embedded.

Ranking (docs/answerer-retrieval.md): per candidate, BM25 of the question against heading and
body, cosine of the question against the heading vector (question-to-question similarity, after
Ben Abacha & Demner-Fushman's question entailment approach) and against the body vector, how much
of the passage's focus (title, synonyms, initials) the question names, and whether the question
asks for the kind of answer the heading gives; each signal is z-normalised over the candidates and
the weighted sum ranks them, plus a bonus for the passages of the guide the question is asked on.
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz
from rapidfuzz import process as fuzz_process

from curbside.answerer.corpus import GuideSource, read_local_content, read_medquad
from curbside.answerer.embed import (
    Embedder,
    EmbedderUnavailable,
    Vectors,
    default_embedder,
    single_threaded_blas,
)
from curbside.answerer.passages import Passage, also_called, caused_effect, question_types
from curbside.settings import Settings

FORMAT = "1"
Ranker = Literal["hybrid", "bm25", "dense", "naive"]
BuildProgress = Callable[[str, int, int], None]

MAX_QUERY_TERMS = 40
POOL_PER_SIGNAL = 100
SUPPORT_REFERENCES = 5
COMMON_DF = 0.05
# The word pieces of a question that are embedded. MiniLM's cost grows with the length (a
# 256-piece question took ~95 ms of a ~110 ms search); a long message is condensed to its asking
# and most informative sentences first (see condense()).
EMBED_TOKENS = 128
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+|\s*\n+\s*|(?<=\.\.)\s*")
_ASKING = re.compile(r"\?|^\W*(?:what|how|why|when|where|which|who|whose|is|are|am|was|were|can|"
                     r"could|do|does|did|should|would|will|may|might|has|have|had|any)\b",
                     re.IGNORECASE)
CHUNK_WORDS = 30  # a run-on "sentence" is cut into pieces of this many words
_TOKEN = re.compile(r"[^\W_]+")
_STOPWORDS = frozenset(re.findall(r"\S+", """
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most
my myself no nor not now of off on once only or other our ours ourselves out over own same she should
so some such than that the their theirs them themselves then there these they this those through to
too under until up very was we were what when where which while who whom why will with would you your
yours yourself yourselves hi hello thanks thank please dear regards also get got im ive id dont cant
know like would could want wanted wondering question questions anyone someone something
"""))


@dataclass(frozen=True)
class Weights:
    """Weights of the z-normalised signals in the hybrid score.

    Tuned by ``bench/retrieval.py --tune`` (a RankNet fit, then a coordinate search, on MEDIQA
    2019 development data and LiveQA; held-out estimates by two-fold cross-validation;
    docs/answerer-retrieval.md). Heading BM25 is slightly negative: once the heading's vector,
    the focus and the question type are in, a heading that merely repeats the question's words
    is more often a near miss than the answer.
    """

    bm25_heading: float = -0.25
    bm25_body: float = 0.0
    dense_heading: float = 2.0
    dense_body: float = 2.0
    focus: float = 1.0
    qtype: float = 0.5  # the question asks for the kind of answer the passage's heading gives
    support: float = 1.0  # agreement with a support index's answers (search(support=...))
    # Added (not z-normalised) to passages of the question's guide, and to the knowledge-base
    # conditions that guide covers; scaled with the signal weights above (their sum is 5.25).
    topic: float = 2.25
    related: float = 1.125


FEATURES = ("bm25_heading", "bm25_body", "dense_heading", "dense_body", "focus", "qtype")


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # the ranker's score (comparable within one result list only)
    lexical: float  # BM25 of the question against the passage (heading and body), higher is better
    dense: float  # cosine of the question and the passage (best of heading and body), -1..1


@dataclass(frozen=True)
class IndexInfo:
    path: Path | None
    format: str
    model: str | None
    dim: int
    passages: dict[str, int]
    built_at: str | None
    build_seconds: float | None
    size_bytes: int | None


@dataclass(frozen=True)
class _Query:
    terms: tuple[str, ...]  # for FTS5: the most informative known words
    words: frozenset[str]  # every word of the question (without stop words)
    unknown: tuple[str, ...]  # words no passage has (misspellings, mostly)
    prefixes: frozenset[str] = frozenset()  # first five letters of the longer words
    selective: tuple[str, ...] = ()  # terms without the very common ones (whole-index search)
    idf: Mapping[str, float] = field(default_factory=dict)  # word -> IDF in the index


@dataclass
class _Signals:
    """Per-candidate signals (rows are candidate positions, not rowids)."""

    rows: NDArray[np.int64]
    bm25_heading: NDArray[np.float64]
    bm25_body: NDArray[np.float64]
    bm25_all: NDArray[np.float64]
    dense_heading: NDArray[np.float64]
    dense_body: NDArray[np.float64]


def words(text: str) -> list[str]:
    """Lower-case words without diacritics, split like FTS5's unicode61 tokenizer."""
    folded = text.lower()
    if not folded.isascii():
        folded = unicodedata.normalize("NFKD", folded)
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _TOKEN.findall(folded)


def sentences(text: str) -> list[str]:
    """The sentences of a message; run-on ones (no punctuation) cut every CHUNK_WORDS words."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        parts = sentence.split()
        for start in range(0, len(parts), CHUNK_WORDS):
            out.append(" ".join(parts[start:start + CHUNK_WORDS]))
    return [s for s in out if s]


def condense(text: str, budget: int, count: Callable[[Sequence[str]], Sequence[int]],
             informativeness: Callable[[str], float]) -> str:
    """``text`` cut to about ``budget`` word pieces (``count`` measures them), keeping the
    sentences that say most: the ones that ask something, the first (consumers often open with
    their question's subject) and those whose words are rarest in the index
    (``informativeness``: a word's IDF), in their original order. Short texts come back as they
    are."""
    parts = sentences(text)
    sizes = list(count(parts))
    if sum(sizes) <= budget:
        return text
    rarities = [[informativeness(w) for w in words(part) if w not in _STOPWORDS] for part in parts]
    highest = max((max(r) for r in rarities if r), default=0.0) or 1.0
    scores = []
    for n, (part, rarity) in enumerate(zip(parts, rarities, strict=True)):
        # the mean rarity (0-1) of its words: a sentence is chosen for what it is about, not for
        # how long it is
        mean = sum(rarity) / len(rarity) / highest if rarity else 0.0
        scores.append(2.0 * mean + (1.0 if _ASKING.search(part) else 0.0) + (0.75 if n == 0 else 0.0))
    chosen: list[int] = []
    used = 0
    for n in sorted(range(len(parts)), key=lambda i: -scores[i]):
        if rarities[n] and used + sizes[n] <= budget:  # "Thanks." says nothing
            chosen.append(n)
            used += sizes[n]
    if not chosen:  # every sentence is longer than the budget: the best one, as it is
        chosen = [max(range(len(parts)), key=lambda i: scores[i])]
    return " ".join(parts[n] for n in sorted(chosen))


def asked_types(question: str) -> frozenset[str]:
    """The kinds of answer a message asks for, read from its asking sentences when it has some
    ("... I feel tired all the time. What causes it?" asks for causes, not symptoms)."""
    asking = [s for s in sentences(question) if _ASKING.search(s)]
    if asking and len(asking) < len(sentences(question)):
        found = question_types(" ".join(asking))
        if found != {"information"}:
            return found
    return question_types(question)


_RECENT: OrderedDict[tuple[int, str], Vectors] = OrderedDict()
RECENT_QUERIES = 32
_RECENT_LOCK = threading.Lock()


def _query_vector(embedder: Embedder, query: str) -> Vectors:
    """A question's vector (the last few are kept: follow-ups and support searches repeat them)."""
    key = (id(embedder), query)
    with _RECENT_LOCK:
        if key in _RECENT:
            _RECENT.move_to_end(key)
            return _RECENT[key]
    vector: Vectors = embedder.embed([query])[0]
    vector.setflags(write=False)
    with _RECENT_LOCK:
        _RECENT[key] = vector
        while len(_RECENT) > RECENT_QUERIES:
            _RECENT.popitem(last=False)
    return vector


def _done(value: _Query) -> Future[_Query]:
    future: Future[_Query] = Future()
    future.set_result(value)
    return future


def _zscore(values: NDArray[np.float64]) -> NDArray[np.float64]:
    if values.size == 0:
        return values
    std = float(values.std())
    if std < 1e-9:
        return np.zeros_like(values)
    return (values - float(values.mean())) / std


def _minmax(values: NDArray[np.float64]) -> NDArray[np.float64]:
    if values.size == 0:
        return values
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-12:
        return np.zeros_like(values)
    return (values - low) / (high - low)


_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE passages(
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL, section TEXT NOT NULL,
    text TEXT NOT NULL, url TEXT NOT NULL, source TEXT NOT NULL, topic TEXT,
    citations TEXT NOT NULL, digest TEXT NOT NULL);
CREATE VIRTUAL TABLE fts USING fts5(heading, body, content='',
    tokenize='porter unicode61 remove_diacritics 2');
CREATE TABLE vectors(rowid INTEGER PRIMARY KEY, heading BLOB NOT NULL, body BLOB NOT NULL);
CREATE TABLE sources(topic TEXT NOT NULL, id TEXT NOT NULL, citation TEXT NOT NULL, url TEXT,
    PRIMARY KEY(topic, id));
CREATE TABLE related(topic TEXT NOT NULL, condition TEXT NOT NULL, PRIMARY KEY(topic, condition));
"""


class IndexFileError(ValueError):
    """An index file that cannot be opened (missing, not an index, another format)."""


class PassageIndex:
    """Hybrid lexical + dense search over passages. Build with :meth:`build`, or :meth:`open`."""

    def __init__(self, connection: sqlite3.Connection, *, path: Path | None,
                 embedder: Embedder | None, weights: Weights | None = None):
        self._db = connection
        self._lock = threading.RLock()
        self.path = path
        self.weights = weights or Weights()
        self._embedder = embedder
        self._embedder_failed = False
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") != FORMAT:
            raise IndexFileError(f"index format {meta.get('format')!r} is not {FORMAT!r}: "
                                 f"rebuild it with 'curbside index build'")
        self.meta = meta
        self.model: str | None = meta.get("model") or None
        self.dim = int(meta.get("dim", "0"))
        rows = self._db.execute(
            "SELECT rowid, id, title, section, text, url, source, topic, citations FROM passages "
            "ORDER BY rowid").fetchall()
        self.passages: list[Passage] = []
        self._row_of: dict[str, int] = {}
        for position, (rowid, *values) in enumerate(rows):
            if rowid != position + 1:
                raise IndexFileError("passage rowids are not contiguous: rebuild the index")
            pid, title, section, text, url, source, topic, citations = values
            self.passages.append(Passage(pid, title, section, text, url, source, topic,
                                         tuple(json.loads(citations))))
            self._row_of[pid] = position
        count = len(self.passages)
        self.heading_vectors = np.zeros((count, self.dim), dtype=np.float32)
        self.body_vectors = np.zeros((count, self.dim), dtype=np.float32)
        if self.dim:
            for rowid, heading, body in self._db.execute(
                    "SELECT rowid, heading, body FROM vectors"):
                self.heading_vectors[rowid - 1] = np.frombuffer(heading, dtype=np.float32)
                self.body_vectors[rowid - 1] = np.frombuffer(body, dtype=np.float32)
        self._names: dict[int, tuple[frozenset[str], ...]] = {}
        self._acronyms: dict[int, frozenset[str]] = {}
        self._types: dict[int, frozenset[str]] = {}
        self._topics = np.array([p.topic or "" for p in self.passages], dtype=object)
        self._source = np.array([p.source for p in self.passages], dtype=object)
        self.related: dict[str, frozenset[str]] = {}
        for topic, condition in self._db.execute("SELECT topic, condition FROM related"):
            self.related[topic] = self.related.get(topic, frozenset()) | {condition}
        self._df: dict[str, int] = {}
        self._docs = count
        self._db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_vocab "
                         "USING fts5vocab(main, fts, 'row')")
        self._db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_terms USING fts5(x, "
                         "tokenize='porter unicode61 remove_diacritics 2')")
        self._db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_vocab "
                         "USING fts5vocab(temp, query_terms, 'instance')")
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="curbside-fts")
        if count > 2000:  # fill the per-passage caches in the background (about half a second)
            self._pool.submit(self._warm)

    def _warm(self) -> None:
        for row in range(len(self.passages)):
            self._names_of(row)
            self._acronyms_of(row)
            self._types_of(row)

    # -----------------------------------------------------------------------------------------
    # Building and opening

    @classmethod
    def build(cls, passages: Sequence[Passage], embedder: Embedder | None,
              path: Path | None = None, *, progress: BuildProgress | None = None,
              reuse: PassageIndex | Sequence[PassageIndex] | None = None,
              sources: Iterable[GuideSource] = (),
              related: Mapping[str, Sequence[str]] | None = None,
              weights: Weights | None = None) -> PassageIndex:
        """Index ``passages``; write ``path`` (atomically) or keep the index in memory.

        A vector whose text (heading or body) is in ``reuse`` (an index, or several) is copied,
        not recomputed.
        """
        donors: Sequence[PassageIndex] = (
            () if reuse is None else (reuse,) if isinstance(reuse, PassageIndex) else reuse)
        started = time.perf_counter()
        seen: set[str] = set()
        for passage in passages:
            if passage.id in seen:
                raise ValueError(f"duplicate passage id {passage.id!r}")
            seen.add(passage.id)
        temp: Path | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(path.name + f".building-{os.getpid()}")
            temp.unlink(missing_ok=True)
            connection = sqlite3.connect(temp, check_same_thread=False)
        else:
            connection = sqlite3.connect(":memory:", check_same_thread=False)
        try:
            connection.executescript(_SCHEMA)
            dim = embedder.dim if embedder is not None else 0
            with connection:
                connection.executemany(
                    "INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    ((n, p.id, p.title, p.section, p.text, p.url, p.source, p.topic,
                      json.dumps(list(p.citations)), p.digest)
                     for n, p in enumerate(passages, start=1)))
                total = len(passages)
                for start in range(0, total, 2000):
                    chunk = passages[start:start + 2000]
                    connection.executemany(
                        "INSERT INTO fts(rowid, heading, body) VALUES (?, ?, ?)",
                        ((start + n, p.heading, p.plain_text)
                         for n, p in enumerate(chunk, start=1)))
                    if progress is not None:
                        progress("lexical", min(start + 2000, total), total)
                connection.executemany(
                    "INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?)",
                    ((s.topic, s.id, s.citation, s.url) for s in sources))
                connection.executemany(
                    "INSERT OR IGNORE INTO related VALUES (?, ?)",
                    ((topic, c) for topic, ids in (related or {}).items() for c in ids))
            if embedder is not None:
                heading, body = cls._vectors(passages, embedder, donors, progress)
                with connection:
                    connection.executemany(
                        "INSERT INTO vectors VALUES (?, ?, ?)",
                        ((n + 1, heading[n].tobytes(), body[n].tobytes())
                         for n in range(len(passages))))
            counts: dict[str, int] = {}
            for passage in passages:
                counts[passage.source] = counts.get(passage.source, 0) + 1
            meta = {
                "format": FORMAT,
                "model": embedder.name if embedder is not None else "",
                "dim": str(dim),
                "passages": json.dumps(counts),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "build_seconds": f"{time.perf_counter() - started:.1f}",
            }
            with connection:
                connection.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            connection.execute("INSERT INTO fts(fts) VALUES ('optimize')")
            connection.commit()
            if temp is not None and path is not None:
                connection.close()
                os.replace(temp, path)
                connection = sqlite3.connect(path, check_same_thread=False)
        except BaseException:
            connection.close()
            if temp is not None:
                temp.unlink(missing_ok=True)
            raise
        return cls(connection, path=path, embedder=embedder, weights=weights)

    @staticmethod
    def _vectors(passages: Sequence[Passage], embedder: Embedder, reuse: Sequence[PassageIndex],
                 progress: BuildProgress | None) -> tuple[Vectors, Vectors]:
        count = len(passages)
        heading = np.zeros((count, embedder.dim), dtype=np.float32)
        body = np.zeros((count, embedder.dim), dtype=np.float32)
        # Reuse per vector: a passage whose heading (or text) is unchanged keeps that vector.
        headings: dict[str, Vectors] = {}
        bodies: dict[str, Vectors] = {}
        for donor in reuse:
            if donor.model != embedder.name or donor.dim != embedder.dim:
                continue
            for row, old in enumerate(donor.passages):
                headings.setdefault(old.heading, donor.heading_vectors[row])
                bodies.setdefault(old.plain_text, donor.body_vectors[row])
        todo_heading: list[int] = []
        todo_body: list[int] = []
        for n, passage in enumerate(passages):
            known = headings.get(passage.heading)
            if known is None:
                todo_heading.append(n)
            else:
                heading[n] = known
            known = bodies.get(passage.plain_text)
            if known is None:
                todo_body.append(n)
            else:
                body[n] = known
        texts = ([passages[n].heading for n in todo_heading]
                 + [passages[n].plain_text for n in todo_body])
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress("vectors", done, len(texts))

        if progress is not None:
            progress("vectors", 0, len(texts))
        if texts:
            vectors = embedder.embed(texts, progress=step, workers=os.cpu_count() or 1)
            heading[todo_heading] = vectors[:len(todo_heading)]
            body[todo_body] = vectors[len(todo_heading):]
        return heading, body

    @classmethod
    def open(cls, path: Path, embedder: Embedder | None = None,
             weights: Weights | None = None) -> PassageIndex:
        """Open an index file (read-only). The embedder loads on the first search if not given."""
        if not path.is_file():
            raise IndexFileError(f"no index at {path}: run 'curbside index build'")
        try:
            connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                         check_same_thread=False)
            return cls(connection, path=path, embedder=embedder, weights=weights)
        except sqlite3.DatabaseError as exc:
            raise IndexFileError(f"{path} is not a curbside index: {exc}") from exc

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._db.close()

    def __enter__(self) -> PassageIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -----------------------------------------------------------------------------------------
    # Reading

    def __len__(self) -> int:
        return len(self.passages)

    def get(self, passage_id: str) -> Passage | None:
        row = self._row_of.get(passage_id)
        return None if row is None else self.passages[row]

    def digests(self) -> dict[str, str]:
        with self._lock:
            return dict(self._db.execute("SELECT id, digest FROM passages").fetchall())

    def source(self, topic: str, source_id: str) -> GuideSource | None:
        """The reference behind a guide passage's ``[S..]`` marker."""
        with self._lock:
            row = self._db.execute("SELECT citation, url FROM sources WHERE topic = ? AND id = ?",
                                   (topic, source_id)).fetchone()
        return None if row is None else GuideSource(topic, source_id, row[0], row[1])

    def sources(self) -> list[GuideSource]:
        with self._lock:
            rows = self._db.execute("SELECT topic, id, citation, url FROM sources").fetchall()
        return [GuideSource(*row) for row in rows]

    def info(self) -> IndexInfo:
        counts: dict[str, int] = json.loads(self.meta.get("passages", "{}"))
        size = self.path.stat().st_size if self.path is not None and self.path.exists() else None
        seconds = self.meta.get("build_seconds")
        return IndexInfo(path=self.path, format=self.meta["format"], model=self.model,
                         dim=self.dim, passages=counts, built_at=self.meta.get("built_at"),
                         build_seconds=float(seconds) if seconds else None, size_bytes=size)

    # -----------------------------------------------------------------------------------------
    # Searching

    @property
    def embedder(self) -> Embedder | None:
        """The query embedder (loaded lazily); ``None`` if the index has no vectors."""
        if self._embedder is None and self.dim and not self._embedder_failed:
            try:
                self._embedder = default_embedder()
            except EmbedderUnavailable:
                self._embedder_failed = True
        if self._embedder is not None and self._embedder.name != self.model:
            return None
        return self._embedder

    def query_terms(self, query: str, limit: int = MAX_QUERY_TERMS) -> list[str]:
        """The question's most informative words (highest IDF first), one per stem."""
        return list(self._analyse(query, limit).terms)

    def _analyse(self, query: str, limit: int = MAX_QUERY_TERMS) -> _Query:
        tokens = [w for w in words(query) if w not in _STOPWORDS and (len(w) > 1 or w.isdigit())]
        tokens = list(dict.fromkeys(tokens))[:400]
        if not tokens:
            return _Query((), frozenset(), ())
        with self._lock:
            self._db.execute("DELETE FROM temp.query_terms")
            self._db.execute("INSERT INTO temp.query_terms(rowid, x) VALUES (1, ?)",
                             (" ".join(tokens),))
            stems = [term for term, in self._db.execute(
                "SELECT term FROM temp.query_vocab ORDER BY offset")]
            if len(stems) != len(tokens):  # tokenisers disagree: keep the words as they are
                stems = tokens
            if len(self._df) > 200_000:  # unknown words are cached too: keep it bounded
                self._df.clear()
            missing = [s for s in set(stems) if s not in self._df]
            for start in range(0, len(missing), 500):
                part = missing[start:start + 500]
                found = dict(self._db.execute(
                    f"SELECT term, doc FROM temp.fts_vocab WHERE term IN "
                    f"({','.join('?' * len(part))})", part).fetchall())
                for stem in part:
                    self._df[stem] = int(found.get(stem, 0))
        best: dict[str, tuple[float, int, str]] = {}
        unknown: list[str] = []
        idf: dict[str, float] = {}
        for word, stem in zip(tokens, stems, strict=True):
            df = self._df.get(stem, 0)
            if df == 0:
                if len(word) >= 4 and not word.isdigit():
                    unknown.append(word)
                continue
            idf[word] = math.log(1 + (self._docs - df + 0.5) / (df + 0.5))
            if stem not in best:
                best[stem] = (idf[word], df, word)
        ranked = sorted(best.values(), key=lambda item: -item[0])[:limit]
        # Words in more than COMMON_DF of a large index add little to BM25 but match most of it
        # (the cost of an FTS5 OR query); the three rarest words are always kept.
        common = COMMON_DF * self._docs if self._docs > 5000 else math.inf
        selective = ranked[:3] + [item for item in ranked[3:] if item[1] <= common]
        return _Query(tuple(word for _, _, word in ranked), frozenset(tokens),
                      tuple(unknown[:20]), frozenset(w[:5] for w in tokens if len(w) > 4),
                      tuple(word for _, _, word in selective), idf)

    def _lexical(self, terms: Sequence[str], rows: NDArray[np.int64] | None
                 ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64],
                            NDArray[np.float64]]:
        """BM25 (higher is better) of every passage matching any term, per field and overall."""
        empty = np.zeros(0)
        if not terms:
            return np.zeros(0, dtype=np.int64), empty, empty, empty
        match = " OR ".join(f'"{t}"' for t in terms)
        sql = ("SELECT rowid, bm25(fts, 1.0, 0.0), bm25(fts, 0.0, 1.0), bm25(fts) FROM fts "
               "WHERE fts MATCH ?")
        params: list[object] = [match]
        if rows is not None:
            sql += f" AND rowid IN ({','.join(str(int(r) + 1) for r in rows)})"
        with self._lock:
            found = self._db.execute(sql, params).fetchall()
        if not found:
            return np.zeros(0, dtype=np.int64), empty, empty, empty
        table = np.array(found, dtype=np.float64)
        return (table[:, 0].astype(np.int64) - 1, -table[:, 1], -table[:, 2], -table[:, 3])

    def _embed_query(self, query: str, analysed: Future[_Query] | None = None) -> Vectors | None:
        embedder = self.embedder
        if embedder is None:
            return None
        if analysed is not None and len(query) > 3 * EMBED_TOKENS:  # may exceed the budget
            query = self.condensed(query, analysed.result())
        return _query_vector(embedder, query)

    def condensed(self, query: str, analysed: _Query | None = None) -> str:
        """The part of ``query`` that is embedded: all of it when it fits in EMBED_TOKENS word
        pieces, else its asking and most informative sentences (unknown words, mostly
        misspellings, count as moderately rare)."""
        analysed = analysed or self._analyse(query)
        embedder = self.embedder
        tokenize = getattr(embedder, "tokenize", None)

        def count(parts: Sequence[str]) -> list[int]:
            if callable(tokenize):
                return [len(ids) - 2 for ids in tokenize(list(parts))]  # without [CLS], [SEP]
            return [round(1.4 * len(p.split())) for p in parts]

        unknown = set(analysed.unknown)
        middle = math.log(1 + self._docs / 100) if self._docs else 1.0
        return condense(query, EMBED_TOKENS - 2, count, lambda w: analysed.idf.get(
            w, middle if w in unknown else 0.0))

    def search(self, query: str, topic: str | None = None, k: int = 10, *,
               candidates: Sequence[str] | None = None, ranker: Ranker = "hybrid",
               support: PassageIndex | None = None) -> list[Hit]:
        """The ``k`` best passages for ``query``.

        ``topic`` (a guide slug) favours that guide's passages and the knowledge-base conditions it
        covers. ``candidates`` (passage ids) restricts ranking to those passages (re-ranking).
        ``ranker`` picks the hybrid (default) or a baseline: ``bm25``, ``dense`` (cosine with the
        passage text) or ``naive`` (0.7 dense + 0.3 BM25, each min-max scaled).

        ``support`` (another index, such as the full MedQuAD one) validates candidate answers that
        come from elsewhere: its best passages for the question are the questions the user's
        question entails, and a candidate whose text is close to one of their answers gains
        (``Weights.support``; the answer-validation use of question entailment that MEDIQA 2019
        suggested).
        """
        query = query.strip()
        if not query or k <= 0 or not self.passages:
            return []
        rows: NDArray[np.int64] | None = None
        if candidates is not None:
            rows = np.array(sorted({self._row_of[c] for c in candidates if c in self._row_of}),
                            dtype=np.int64)
            if rows.size == 0:
                return []
        analysed = self._pool.submit(self._analyse, query)
        lexical = self._pool.submit(lambda: self._lexical(
            analysed.result().terms if rows is not None else analysed.result().selective, rows))
        vector = self._embed_query(query, analysed) if ranker != "bm25" else None
        lex_rows, bm25_heading, bm25_body, bm25_all = lexical.result()
        with single_threaded_blas():
            signals = self._signals(vector, rows, lex_rows, bm25_heading, bm25_body, bm25_all)
        if signals.rows.size == 0:
            return []
        scores = self._score(signals, query, analysed.result(), topic, ranker)
        if support is not None and ranker == "hybrid" and vector is not None and support.dim:
            references = support.search(query, k=SUPPORT_REFERENCES)
            if references:
                matrix = np.stack([support.body_vectors[support._row_of[h.passage.id]]
                                   for h in references])
                agreement = (self.body_vectors[signals.rows] @ matrix.T).max(axis=1)
                scores = scores + self.weights.support * _zscore(agreement.astype(np.float64))
        order = np.lexsort((signals.rows, -scores))[:k]
        return [Hit(passage=self.passages[int(signals.rows[i])], score=float(scores[i]),
                    lexical=float(signals.bm25_all[i]),
                    dense=float(max(signals.dense_heading[i], signals.dense_body[i])))
                for i in order]

    def _signals(self, vector: Vectors | None, rows: NDArray[np.int64] | None,
                 lex_rows: NDArray[np.int64], bm25_heading: NDArray[np.float64],
                 bm25_body: NDArray[np.float64], bm25_all: NDArray[np.float64]) -> _Signals:
        """Candidates (the given rows, or the union of each signal's best) and their signals."""
        if rows is None:
            pool: set[int] = set()
            for values in (bm25_heading, bm25_body, bm25_all):
                if values.size > POOL_PER_SIGNAL:
                    top = np.argpartition(-values, POOL_PER_SIGNAL - 1)[:POOL_PER_SIGNAL]
                    pool.update(lex_rows[top].tolist())
                elif values.size:
                    pool.update(lex_rows.tolist())
            if vector is not None:
                for matrix in (self.heading_vectors, self.body_vectors):
                    sims = matrix @ vector
                    count = min(POOL_PER_SIGNAL, sims.size)
                    pool.update(np.argpartition(-sims, count - 1)[:count].tolist())
            rows = np.array(sorted(pool), dtype=np.int64)
        size = rows.size
        heading = np.zeros(size)
        body = np.zeros(size)
        overall = np.zeros(size)
        if lex_rows.size:  # rows is sorted: place each lexical match on its candidate
            where = np.clip(np.searchsorted(rows, lex_rows), 0, size - 1)
            found = rows[where] == lex_rows
            heading[where[found]] = bm25_heading[found]
            body[where[found]] = bm25_body[found]
            overall[where[found]] = bm25_all[found]
        if vector is not None:
            dense_heading = (self.heading_vectors[rows] @ vector).astype(np.float64)
            dense_body = (self.body_vectors[rows] @ vector).astype(np.float64)
        else:
            dense_heading = np.zeros(size)
            dense_body = np.zeros(size)
        return _Signals(rows, heading, body, overall, dense_heading, dense_body)

    def features(self, s: _Signals, query: str, analysed: _Query) -> dict[str, NDArray[np.float64]]:
        """The hybrid's signals for each candidate, each z-normalised over the candidates."""
        asked = asked_types(query)
        focus = np.fromiter((self._focus_share(int(r), analysed) for r in s.rows), dtype=np.float64,
                            count=s.rows.size)
        qtype = np.fromiter((1.0 if asked & self._types_of(int(r)) else 0.0 for r in s.rows),
                            dtype=np.float64, count=s.rows.size)
        effect = caused_effect(query) if "cause" in asked else None
        if effect:  # "can X cause Y?": the causes of Y answer it, not the causes of X
            named = words(effect)
            target = _Query((), frozenset(named), (), frozenset(w[:5] for w in named if len(w) > 4))
            for i, row in enumerate(s.rows):
                if qtype[i] and "cause" in self._types_of(int(row)):
                    qtype[i] = 1.0 if self._focus_share(int(row), target) >= 0.5 else 0.0
        return {"bm25_heading": _zscore(s.bm25_heading), "bm25_body": _zscore(s.bm25_body),
                "dense_heading": _zscore(s.dense_heading), "dense_body": _zscore(s.dense_body),
                "focus": _zscore(focus), "qtype": _zscore(qtype)}

    @staticmethod
    def combine(features: Mapping[str, NDArray[np.float64]], weights: Weights) -> NDArray[np.float64]:
        """The weighted sum of the (z-normalised) signals."""
        score: NDArray[np.float64] = np.zeros(len(next(iter(features.values()))))
        for name in FEATURES:
            weight = getattr(weights, name)
            if weight:
                score += weight * features[name]
        return score

    def signal_table(self, query: str, candidates: Sequence[str]
                     ) -> tuple[list[str], dict[str, NDArray[np.float64]]]:
        """The hybrid's signals of each candidate (passage ids, in the table's order), for tuning
        the weights without searching again (bench/retrieval.py --tune)."""
        rows = np.array(sorted({self._row_of[c] for c in candidates if c in self._row_of}),
                        dtype=np.int64)
        analysed = self._analyse(query)
        vector = self._embed_query(query, _done(analysed))
        signals = self._signals(vector, rows, *self._lexical(analysed.terms, rows))
        return ([self.passages[int(r)].id for r in signals.rows],
                self.features(signals, query, analysed))

    def _score(self, s: _Signals, query: str, analysed: _Query, topic: str | None,
               ranker: Ranker) -> NDArray[np.float64]:
        if ranker == "bm25":
            return s.bm25_all
        if ranker == "dense":
            return s.dense_body
        if ranker == "naive":
            return 0.7 * _minmax(s.dense_body) + 0.3 * _minmax(s.bm25_all)
        w = self.weights
        score = self.combine(self.features(s, query, analysed), w)
        if topic:
            related = self.related.get(topic, frozenset())
            topics = self._topics[s.rows]
            score = score + w.topic * (topics == topic)
            if related:
                kb = self._source[s.rows] == "kb"
                score = score + w.related * (kb & np.isin(topics, list(related)))
        return np.asarray(score, dtype=np.float64)

    def _types_of(self, row: int) -> frozenset[str]:
        found = self._types.get(row)
        if found is None:
            passage = self.passages[row]
            found = self._types[row] = question_types(passage.heading, passage.title)
        return found

    def _names_of(self, row: int) -> tuple[frozenset[str], ...]:
        """The words of the passage's title and of its "Also called" names."""
        found = self._names.get(row)
        if found is None:
            passage = self.passages[row]
            names = [passage.title, *also_called(passage.section)][:8]
            found = tuple(n for n in (frozenset(w for w in words(name) if w not in _STOPWORDS)
                                      for name in names) if n)
            self._names[row] = found
        return found

    def _acronyms_of(self, row: int) -> frozenset[str]:
        """Initials of the passage's multi-word names: "Normal Pressure Hydrocephalus" -> nph."""
        found = self._acronyms.get(row)
        if found is None:
            passage = self.passages[row]
            initials = set()
            for name in [passage.title, *also_called(passage.section)][:8]:
                parts = [w for w in words(name) if w not in _STOPWORDS or w == "a"]
                if 3 <= len(parts) <= 6:  # two letters match too many words
                    initials.add("".join(w[0] for w in parts))
            found = self._acronyms[row] = frozenset(initials)
        return found

    def _focus_share(self, row: int, query: _Query) -> float:
        """How much of the passage's focus (its title, or a synonym) the question names.

        A word counts when the question has it, a word with its first five letters, or (for
        words the index does not know, mostly misspellings) one within a small edit distance; a
        name's initials in the question ("NPH") count as the whole name.
        """
        if self._acronyms_of(row) & query.words:
            return 1.0
        best = 0.0
        for name in self._names_of(row):
            hits = 0
            for word in name:
                if word in query.words or (len(word) > 4 and word[:5] in query.prefixes) or (
                        query.unknown and len(word) >= 4 and fuzz_process.extractOne(
                            word, query.unknown, scorer=fuzz.ratio, score_cutoff=80) is not None):
                    hits += 1
            best = max(best, hits / len(name))
        return best


# ---------------------------------------------------------------------------------------------
# The index curbside uses


def build_index(settings: Settings | None = None, medquad: Path | None = None,
                path: Path | None = None, *, embedder: Embedder | None = None,
                progress: BuildProgress | None = None) -> PassageIndex:
    """Guides + knowledge base (+ MedQuAD when given) into ``path`` (default: settings).

    Vectors already in the file at ``path`` are reused for passages that did not change, so a
    rebuild after editing a guide only embeds the edited passages.
    """
    settings = settings or Settings()
    path = path or settings.resolved_index_path
    local = read_local_content(settings)
    passages = list(local.passages)
    if medquad is not None:
        passages += read_medquad(medquad, progress=(
            (lambda done, total: progress("medquad", done, total)) if progress else None))
    embedder = embedder or default_embedder()
    previous: PassageIndex | None = None
    if path.is_file():
        try:
            previous = PassageIndex.open(path, embedder=embedder)
        except IndexFileError:
            previous = None
    try:
        return PassageIndex.build(passages, embedder, path, progress=progress, reuse=previous,
                                  sources=local.sources, related=local.related)
    finally:
        if previous is not None:
            previous.close()


def load_index(settings: Settings | None = None, *, embedder: Embedder | None = None,
               weights: Weights | None = None) -> PassageIndex:
    """The index to answer from: the built file if there is one, else guides + KB in memory.

    When the file's guide and knowledge-base passages are out of date (content edited since the
    last ``curbside index build``), an in-memory copy is made with the current ones, reusing every
    vector that did not change.
    """
    settings = settings or Settings()
    local = read_local_content(settings)
    path = settings.resolved_index_path
    stored: PassageIndex | None = None
    if path.is_file():
        stored = PassageIndex.open(path, embedder=embedder, weights=weights)
        digests = stored.digests()
        local_ids = {p.id for p in stored.passages if p.source in ("guide", "kb")}
        if local_ids == {p.id for p in local.passages} and all(
                digests.get(p.id) == p.digest for p in local.passages):
            return stored
    try:
        embedder = embedder or default_embedder()
    except EmbedderUnavailable:
        embedder = None
    extra = [p for p in stored.passages if p.source == "medquad"] if stored is not None else []
    try:
        return PassageIndex.build(local.passages + extra, embedder, None, reuse=stored,
                                  sources=local.sources, related=local.related, weights=weights)
    finally:
        if stored is not None:
            stored.close()
