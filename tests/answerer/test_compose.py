"""The extractive composer: sentences chosen for the question, citations numbered, safety first."""

from __future__ import annotations

import re

import pytest

from curbside.answerer.compose import (
    CompositionRequest,
    compose_extractive,
    content_stems,
    passage_sentences,
    select_sentences,
)
from curbside.answerer.safety import (
    AMBULANCE_MESSAGE,
    DOSE_MESSAGE,
    OUT_OF_SCOPE_MESSAGE,
    SafetyAssessment,
    SafetyChecker,
)
from curbside.engine.session import Engine
from tests.answerer.fakes import CRAMPS, DVT, QUININE, FakeIndex, passage


@pytest.fixture(scope="module")
def checker(thigh_engine: Engine) -> SafetyChecker:
    return SafetyChecker(thigh_engine)


def request(checker: SafetyChecker, question: str) -> CompositionRequest:
    hits = tuple(FakeIndex().search(question, k=8))
    return CompositionRequest(question=question, assessment=checker.assess(question), hits=hits)


def test_list_items_join_the_line_that_introduces_them() -> None:
    text = ("Night cramps are more common in some groups [S4]:\n\n- as people get older [S6]\n"
            "- in women [S8]\n\nThey can wake you up. They pass.")
    assert passage_sentences(text) == [
        "Night cramps are more common in some groups: as people get older; in women.",
        "They can wake you up.", "They pass."]


def test_citation_markers_and_markdown_are_not_shown() -> None:
    assert passage_sentences("**Stretch** the muscle gently [S1, S2]. Hold it [S3].") == [
        "Stretch the muscle gently.", "Hold it."]


def test_content_stems_drop_stop_words() -> None:
    assert content_stems("Why do my thighs cramp at night?") == ["thigh", "cramp", "night"]


def test_sentences_answer_the_question_and_skip_doses(checker: SafetyChecker) -> None:
    q = "Does stretching help cramps?"
    chosen = select_sentences(q, FakeIndex().search(q), checker.assess(q))
    texts = [c.text for c in chosen]
    assert any("stretching may help prevent cramps" in t.lower() for t in texts)
    assert not any("mg" in t for t in texts)
    assert len(texts) == len(set(texts)) and 1 <= len(texts) <= 5


def test_a_self_care_answer_cites_in_order_of_use(checker: SafetyChecker) -> None:
    draft = compose_extractive(request(checker, "What helps a cramp in my inner thigh?"))
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", draft.text)]
    assert numbers and numbers == sorted(set(numbers))
    assert [c.number for c in draft.citations] == list(range(1, len(draft.citations) + 1))
    assert draft.citations[0].passage_id == CRAMPS.id
    assert draft.citations[0].url and draft.citations[0].section
    assert draft.text.rstrip().endswith("gets worse.")  # the self-care safety net closes it


def test_an_emergency_answer_starts_with_the_emergency_message(checker: SafetyChecker) -> None:
    draft = compose_extractive(request(
        checker, "my leg is swollen and now I'm short of breath, could it be a clot?"))
    assert draft.text.startswith(AMBULANCE_MESSAGE)
    assert "[1]" in draft.text
    assert "just a pulled muscle" not in draft.text  # reassurance is never picked
    assert draft.citations[0].passage_id == DVT.id


def test_a_dose_request_gets_the_refusal_and_no_dose(checker: SafetyChecker) -> None:
    draft = compose_extractive(request(checker, "how much quinine should I take for cramps?"))
    assert draft.text.startswith(DOSE_MESSAGE)
    assert "FDA" in draft.text and "300 mg" not in draft.text
    assert QUININE.id in [c.passage_id for c in draft.citations]


def test_out_of_scope_has_no_citations(checker: SafetyChecker) -> None:
    draft = compose_extractive(request(checker, "Please write me a poem about autumn leaves."))
    assert draft.text == OUT_OF_SCOPE_MESSAGE
    assert draft.citations == ()


def test_no_matching_passage_is_said_plainly() -> None:
    assessment = SafetyAssessment(label="self_care", level=None)
    draft = compose_extractive(CompositionRequest("What is a bunion?", assessment, ()))
    assert "could not find" in draft.text
    assert draft.citations == () and draft.notes


def test_sentences_are_kept_in_reading_order(checker: SafetyChecker) -> None:
    first = passage("guide:x#a/1", "X", "Self-care", "Stretching may help cramps. Rest helps "
                    "cramps too after hard exercise.")
    q = "what helps cramps after exercise?"
    hits = tuple(FakeIndex((first,)).search(q))
    chosen = select_sentences(q, hits, checker.assess(q))
    assert [c.position for c in chosen] == sorted(c.position for c in chosen)


def test_a_self_care_answer_gets_an_action_that_says_what_it_is_for(checker: SafetyChecker) -> None:
    """The action may sit outside a self-care section ("Key points") and share no word with the
    question: it still belongs to the same guide, and it says what it is for."""
    causes = passage("guide:x#causes/1", "Inner thigh cramps", "What causes them?",
                     "Cramps that start during exercise are common late in a hard workout. "
                     "Tired muscles that work across a joint are the ones most often affected. "
                     "Swimmers and runners often notice them when the muscle is tired.")
    key = passage("guide:x#key/1", "Inner thigh cramps", "Key points",
                  "Most thigh cramps are harmless and pass within minutes. To ease an inner thigh "
                  "cramp, stretch the leg gently outwards and massage the muscle.")
    q = "Why do I keep getting cramps in my inner thigh when I swim laps?"
    hits = tuple(FakeIndex((causes, key)).search(q))
    chosen = select_sentences(q, hits, checker.assess(q), max_sentences=2)
    assert any(c.text.startswith("To ease an inner thigh cramp") for c in chosen)
