"""PassageIndex on a tiny corpus: lexical and dense search, topic boost, file round trip."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from curbside.answerer.corpus import GuideSource
from curbside.answerer.embed import MiniLMEmbedder, Progress, Vectors, default_embedder
from curbside.answerer.index import (
    CHUNK_WORDS,
    EMBED_TOKENS,
    FEATURES,
    IndexFileError,
    PassageIndex,
    Weights,
    asked_types,
    condense,
    sentences,
    words,
)
from curbside.answerer.passages import Passage, caused_effect, plain


def guide(slug: str, section: str, title: str, text: str, n: int = 1) -> Passage:
    return Passage(id=f"guide:{slug}#{section}/{n}", title=title, section=section.replace("-", " "),
                   text=text, url=f"/guides/{slug}#{section}", source="guide", topic=slug,
                   citations=("S1",))


def medquad(pid: str, focus: str, question: str, answer: str) -> Passage:
    return Passage(id=f"medquad:{pid}", title=focus, section=question, text=answer,
                   url=f"https://example.org/{pid}", source="medquad", topic=None)


CORPUS = [
    guide("inner-thigh-cramps", "immediate-relief", "Inner thigh cramps",
          "Stretch the inner thigh gently and massage the muscle until the cramp eases [S1]."),
    guide("nocturnal-leg-cramps", "immediate-relief", "Night leg cramps",
          "Stretch the calf gently and massage the muscle until the cramp eases [S1]."),
    guide("inner-thigh-cramps", "remedies", "Inner thigh cramps",
          "Do not take quinine or tonic water for cramps: the FDA warns of serious reactions [S1]."),
    guide("kidney-stones", "what-it-is", "Kidney stones",
          "A kidney stone is a hard lump that forms in the kidney and can cause waves of severe "
          "pain from the side into the groin [S1, S2]."),
    Passage(id="kb:femoral_hernia", title="Femoral hernia", section="What is it?",
            text="A bulge of tissue through the femoral canal at the top of the inner thigh.",
            url="/api/v1/conditions/femoral_hernia", source="kb", topic="femoral_hernia",
            citations=("S9",)),
    medquad("GHR_0000001_Sec1", "Aarskog-Scott syndrome", "What is (are) Aarskog-Scott syndrome ?",
            "Aarskog-Scott syndrome is a genetic disorder that affects the development of many "
            "parts of the body, including short stature and distinctive facial features."),
    medquad("NIDDK_0000002_Sec3", "Kidney Stones in Adults", "What are the treatments for Kidney "
            "Stones in Adults ?", "Treatment depends on the size of the stone: drinking plenty of "
            "water, pain medicine, shock wave lithotripsy or ureteroscopy."),
    medquad("CDC_0000003_Sec1", "Taeniasis", "What is (are) Parasites - Taeniasis ?",
            "Taeniasis is an infection with tapeworms acquired by eating raw or undercooked beef "
            "or pork."),
]


class CountingEmbedder:
    """The real embedder, counting how many texts it was asked to embed."""

    def __init__(self, inner: MiniLMEmbedder):
        self.inner = inner
        self.count = 0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str], *, batch_size: int = 32,
              progress: Progress | None = None, workers: int = 1) -> Vectors:
        self.count += len(texts)
        return self.inner.embed(texts, batch_size=batch_size, progress=progress, workers=workers)


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return default_embedder()


@pytest.fixture(scope="module")
def index(embedder: MiniLMEmbedder) -> PassageIndex:
    return PassageIndex.build(CORPUS, embedder, related={"inner-thigh-cramps": ["femoral_hernia"]})


def ids(hits: Sequence[object]) -> list[str]:
    return [h.passage.id for h in hits]  # type: ignore[attr-defined]


def test_passage_text_for_indexing_drops_citation_markers() -> None:
    assert plain("Stretch it [S1, S24]. **Gently** [S3].") == "Stretch it. Gently."
    assert CORPUS[0].heading == "Inner thigh cramps: immediate relief"
    assert CORPUS[5].heading == "What is (are) Aarskog-Scott syndrome ?"
    assert CORPUS[0].digest != CORPUS[1].digest


def test_lexical_search_finds_the_rare_word(index: PassageIndex) -> None:
    hits = index.search("is tonic water with quinine good for cramps", ranker="bm25")
    assert hits[0].passage.id == "guide:inner-thigh-cramps#remedies/1"
    assert hits[0].lexical > 0
    assert index.query_terms("what about QUININE and the cramps?")[0] == "quinine"
    assert index.query_terms("the of and") == []


def test_dense_search_matches_meaning_without_shared_words(index: PassageIndex) -> None:
    query = "tapeworm from eating uncooked meat"  # shares only 'eating' with the passage
    hits = index.search(query, ranker="dense", k=3)
    assert hits[0].passage.id == "medquad:CDC_0000003_Sec1"
    assert -1.0 <= hits[0].dense <= 1.0
    assert index.search(query, k=1)[0].passage.id == "medquad:CDC_0000003_Sec1"


def test_hybrid_uses_the_question_to_question_match(index: PassageIndex) -> None:
    hits = index.search("how are kidney stones treated?", k=3)
    assert hits[0].passage.id == "medquad:NIDDK_0000002_Sec3"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_topic_boost_favours_the_page_the_question_is_asked_on(index: PassageIndex) -> None:
    query = "how do I ease a cramp by stretching and massage"
    thigh = "guide:inner-thigh-cramps#immediate-relief/1"
    night = "guide:nocturnal-leg-cramps#immediate-relief/1"
    on_thigh = ids(index.search(query, topic="inner-thigh-cramps", k=2))
    on_night = ids(index.search(query, topic="nocturnal-leg-cramps", k=2))
    assert on_thigh[0] == thigh
    assert on_night[0] == night
    # Without a topic both are near the top, and the boost moved the other one first.
    assert set(ids(index.search(query, k=2))) == {thigh, night}
    # The guide's related knowledge-base condition gains too.
    plain_rank = ids(index.search("bulge", k=8)).index("kb:femoral_hernia")
    assert ids(index.search("bulge", topic="inner-thigh-cramps", k=8)).index(
        "kb:femoral_hernia") <= plain_rank


def test_candidates_restrict_the_ranking(index: PassageIndex) -> None:
    allowed = ["medquad:GHR_0000001_Sec1", "medquad:CDC_0000003_Sec1", "unknown"]
    hits = index.search("tapeworm infection", candidates=allowed, k=10)
    assert set(ids(hits)) <= set(allowed[:2])
    assert ids(hits)[0] == "medquad:CDC_0000003_Sec1"
    assert index.search("tapeworm", candidates=["unknown"]) == []


@pytest.mark.parametrize("ranker", ["bm25", "dense", "naive", "hybrid"])
def test_every_ranker_returns_k_hits(index: PassageIndex, ranker: str) -> None:
    hits = index.search("kidney stone or cramp pain", k=3, ranker=ranker)  # type: ignore[arg-type]
    assert len(hits) == 3
    assert len(set(ids(hits))) == 3


def test_empty_and_odd_queries(index: PassageIndex) -> None:
    assert index.search("") == []
    assert index.search("   ") == []
    assert index.search("cramp", k=0) == []
    assert index.search('"quotes" AND (brackets) OR * NEAR ^', k=2)  # FTS5 syntax is inert
    assert len(index.search("x" * 5000, k=2)) == 2


def test_words_fold_case_and_accents() -> None:
    assert words("Café NAÏVE x-ray 38°C") == ["cafe", "naive", "x", "ray", "38", "c"]


def test_round_trip_through_a_file(tmp_path: Path, embedder: MiniLMEmbedder,
                                   index: PassageIndex) -> None:
    path = tmp_path / "sub" / "index.sqlite"
    sources = [GuideSource("kidney-stones", "S1", "EAU guideline on urolithiasis", "https://x.org")]
    built = PassageIndex.build(CORPUS, embedder, path, sources=sources,
                               related={"inner-thigh-cramps": ["femoral_hernia"]})
    built.close()
    assert path.is_file()
    assert not list(path.parent.glob("*.building-*"))
    with PassageIndex.open(path, embedder=embedder) as opened:
        assert len(opened) == len(CORPUS)
        assert opened.get(CORPUS[3].id) == CORPUS[3]
        assert np.array_equal(opened.body_vectors, index.body_vectors)
        query = "kidney stone treatment"
        assert [(h.passage.id, round(h.score, 5)) for h in opened.search(query)] == [
            (h.passage.id, round(h.score, 5)) for h in index.search(query)]
        info = opened.info()
        assert info.passages == {"guide": 4, "kb": 1, "medquad": 3}
        assert info.model == embedder.name and info.dim == 384
        assert info.size_bytes and info.size_bytes > 0
        source = opened.source("kidney-stones", "S1")
        assert source is not None and source.citation.startswith("EAU")
        assert opened.related == {"inner-thigh-cramps": frozenset({"femoral_hernia"})}


def test_rebuild_reuses_unchanged_vectors(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    path = tmp_path / "index.sqlite"
    counting = CountingEmbedder(embedder)
    PassageIndex.build(CORPUS, counting, path).close()
    assert counting.count == 2 * len(CORPUS)
    changed = [*CORPUS[:-1], medquad("CDC_0000003_Sec1", "Taeniasis", "What is taeniasis ?",
                                     "A tapeworm infection.")]
    with PassageIndex.open(path) as previous:
        counting.count = 0
        rebuilt = PassageIndex.build(changed, counting, None, reuse=previous)
    assert counting.count == 2  # the heading and text of the one changed passage
    fresh = embedder.embed([changed[-1].heading])[0]
    assert np.abs(rebuilt.heading_vectors[-1] - fresh).max() < 1e-6
    rebuilt.close()


def test_lexical_only_index_without_an_embedder() -> None:
    index = PassageIndex.build(CORPUS, None)
    assert index.embedder is None
    hits = index.search("quinine tonic water")
    assert hits[0].passage.id == "guide:inner-thigh-cramps#remedies/1"
    assert hits[0].dense == 0.0


def test_failed_build_leaves_no_file(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    path = tmp_path / "index.sqlite"
    with pytest.raises(ValueError, match="duplicate passage id"):
        PassageIndex.build([CORPUS[0], CORPUS[0]], embedder, path)
    assert list(tmp_path.iterdir()) == []


def test_opening_something_else_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexFileError, match="curbside index build"):
        PassageIndex.open(tmp_path / "missing.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(IndexFileError, match="not a curbside index"):
        PassageIndex.open(junk)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t(x)").connection.close()
    with pytest.raises(IndexFileError):
        PassageIndex.open(other)


def test_weights_can_be_changed_per_index(index: PassageIndex) -> None:
    lexical_only = Weights(bm25_heading=0, bm25_body=1, dense_heading=0, dense_body=0, focus=0,
                           qtype=0)
    saved = index.weights
    try:
        index.weights = lexical_only
        assert index.search("quinine", k=1)[0].passage.id == "guide:inner-thigh-cramps#remedies/1"
    finally:
        index.weights = saved


def test_support_index_validates_outside_answers(index: PassageIndex,
                                                 embedder: MiniLMEmbedder) -> None:
    """Re-ranking answers from elsewhere: the support index's best passage for the question (its
    answer about treatment) lifts the candidate that agrees with it."""
    candidates = [
        Passage(id="a:1", title="Kidney stones", section="", source="medquad", topic=None, url="",
                text="Kidney stones are hard deposits of minerals and salts that form inside "
                     "the kidneys."),
        Passage(id="a:2", title="Kidney stones", section="", source="medquad", topic=None, url="",
                text="Small stones pass with plenty of water and pain medicine; larger stones "
                     "may need shock wave lithotripsy or ureteroscopy."),
    ]
    answers = PassageIndex.build(candidates, embedder)
    question = "kidney stones what are the options"
    supported = answers.search(question, support=index, k=2)
    assert supported[0].passage.id == "a:2"
    alone = {h.passage.id: h.score for h in answers.search(question, k=2)}
    with_support = {h.passage.id: h.score for h in supported}
    assert with_support["a:2"] - with_support["a:1"] > alone["a:2"] - alone["a:1"]


# ---------------------------------------------------------------------------------------------
# Long questions: what is embedded, and which kind of answer they ask for

LONG_MESSAGE = (
    "Hello, I am writing on behalf of my mother who is seventy and lives alone. "
    "She walks every morning with her neighbour and gardens in the afternoon. "
    "Last winter she had a bad flu and spent two weeks in bed at my sister's place. "
    "Since then she has been tired and she sleeps badly, although she eats well. "
    "Her doctor changed her blood pressure tablets in spring, which she takes with breakfast. "
    "We went on holiday to the seaside in summer and she enjoyed the walks on the beach. "
    "Now her ankles are swollen every evening and her shoes feel tight. "
    "Could her new blood pressure medicine cause swollen ankles? "
    "Thank you so much. Thanks again."
)


class RecordingEmbedder(CountingEmbedder):
    """The real embedder, keeping the texts it was asked to embed."""

    def __init__(self, inner: MiniLMEmbedder):
        super().__init__(inner)
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str], *, batch_size: int = 32,
              progress: Progress | None = None, workers: int = 1) -> Vectors:
        self.texts += texts
        return super().embed(texts, batch_size=batch_size, progress=progress, workers=workers)


def test_sentences_split_on_punctuation_and_cut_run_ons() -> None:
    assert sentences("First one. Is it bad?\nThird line") == ["First one.", "Is it bad?",
                                                                "Third line"]
    run_on = " ".join(f"w{n}" for n in range(CHUNK_WORDS * 2 + 5))
    assert [len(s.split()) for s in sentences(run_on)] == [CHUNK_WORDS, CHUNK_WORDS, 5]


def test_condense_keeps_a_short_question_whole() -> None:
    short = "Could my blood pressure tablets cause swollen ankles? Thanks."
    assert condense(short, 100, lambda parts: [len(p.split()) for p in parts],
                    lambda word: 1.0) == short


def test_condense_keeps_the_asking_and_informative_sentences_in_order() -> None:
    rare = {"ankles": 5.0, "swollen": 4.0, "medicine": 3.0, "pressure": 3.0, "flu": 4.0}
    condensed = condense(LONG_MESSAGE, 40, lambda parts: [len(p.split()) for p in parts],
                         lambda word: rare.get(word, 0.5))
    assert len(condensed.split()) <= 40
    assert "Could her new blood pressure medicine cause swollen ankles?" in condensed
    assert "Now her ankles are swollen every evening" in condensed
    assert "Thanks again" not in condensed  # says nothing
    kept = sentences(condensed)
    assert kept == [s for s in sentences(LONG_MESSAGE) if s in kept]  # original order


def test_a_long_question_embeds_at_most_the_token_budget(embedder: MiniLMEmbedder) -> None:
    recording = RecordingEmbedder(embedder)
    index = PassageIndex.build(CORPUS, recording)
    recording.texts.clear()
    question = (LONG_MESSAGE + " ") * 6  # about 5,000 characters
    hits = index.search(question, k=3)
    assert hits
    assert len(recording.texts) == 1
    embedded = recording.texts[0]
    assert len(embedder.tokenize([embedded])[0]) <= EMBED_TOKENS
    assert "cause swollen ankles?" in embedded
    assert index.condensed(question) == embedded
    short = "how are kidney stones treated?"
    assert index.condensed(short) == short


def test_asked_types_read_the_asking_sentences() -> None:
    message = "I feel tired all the time and my legs ache. What causes it?"
    assert asked_types(message) == {"cause"}  # not "symptom", from "I feel"
    assert asked_types("Tell me about kidney stones") == {"information"}


def test_can_x_cause_y_asks_for_the_causes_of_y(embedder: MiniLMEmbedder) -> None:
    corpus = [
        medquad("A_1", "Tooth abscess", "What causes Tooth abscess ?",
                "A tooth abscess is caused by bacteria entering the tooth through a cavity."),
        medquad("B_1", "Heart Attack", "What causes Heart Attack ?",
                "Most heart attacks are caused by coronary heart disease; infections and "
                "inflammation elsewhere in the body have been linked to it."),
        medquad("A_2", "Tooth abscess", "What is (are) Tooth abscess ?",
                "A tooth abscess is a pocket of pus in the tooth."),
        medquad("B_2", "Heart Attack", "What is (are) Heart Attack ?",
                "A heart attack happens when blood flow to the heart is blocked."),
    ]
    assert caused_effect("Can an abscessed tooth cause a heart attack?") == "a heart attack"
    assert caused_effect("What causes migraines?") is None
    small = PassageIndex.build(corpus, embedder)
    ids_, features = small.signal_table("Can a tooth abscess cause a heart attack?",
                                        [p.id for p in corpus])
    qtype = dict(zip(ids_, features["qtype"], strict=True))
    # Only the causes of the effect match the question's type, not the causes of the agent.
    assert qtype["medquad:B_1"] > qtype["medquad:A_1"] == qtype["medquad:A_2"]
    ids_, features = small.signal_table("What causes a tooth abscess?", [p.id for p in corpus])
    qtype = dict(zip(ids_, features["qtype"], strict=True))
    assert qtype["medquad:A_1"] == qtype["medquad:B_1"] > qtype["medquad:A_2"]


def test_signal_table_gives_the_ranking_search_gives(index: PassageIndex) -> None:
    candidates = [p.id for p in CORPUS]
    question = "how are kidney stones treated?"
    table_ids, features = index.signal_table(question, candidates)
    assert set(table_ids) == set(candidates)
    assert set(features) == set(FEATURES)
    scores = PassageIndex.combine(features, index.weights)
    by_table = [table_ids[i] for i in np.argsort(-scores, kind="stable")][:3]
    assert by_table == ids(index.search(question, k=3, candidates=candidates))
