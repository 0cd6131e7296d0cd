"""Question scoring against a plain-loop reference implementation, and the interview's rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from curbside.engine.inference import Answer, Evidence, posterior
from curbside.engine.interview import (
    InterviewSettings,
    Question,
    QuestionItem,
    answers_for,
    next_question,
    score_questions,
)
from curbside.engine.model import Model
from curbside.engine.session import Engine
from curbside.engine.triage import LOSS
from curbside.settings import Settings


def reference_gain(prior: list[float], p_yes_given_c: list[float]) -> float:
    def entropy(dist: list[float]) -> float:
        return -sum(p * math.log(p) for p in dist if p > 0)

    p_yes = sum(p * q for p, q in zip(prior, p_yes_given_c, strict=True))
    post_yes = [p * q / p_yes for p, q in zip(prior, p_yes_given_c, strict=True)]
    post_no = [p * (1 - q) / (1 - p_yes) for p, q in zip(prior, p_yes_given_c, strict=True)]
    return entropy(prior) - p_yes * entropy(post_yes) - (1 - p_yes) * entropy(post_no)


def reference_triage_value(prior: list[float], p_yes_given_c: list[float], levels: list[int],
                           yes_floor: int = 0) -> float:
    def best(weights: list[float], floor: int) -> float:
        return min(
            sum(w * LOSS[a][max(t, floor)] for w, t in zip(weights, levels, strict=True))
            for a in range(floor, 5)
        )

    yes = [p * q for p, q in zip(prior, p_yes_given_c, strict=True)]
    no = [p * (1 - q) for p, q in zip(prior, p_yes_given_c, strict=True)]
    before = min(
        sum(w * LOSS[a][max(t, yes_floor)] for w, t in zip(yes, levels, strict=True))
        + sum(w * LOSS[a][t] for w, t in zip(no, levels, strict=True))
        for a in range(5)
    )
    return before - best(yes, yes_floor) - best(no, 0)


def scored(model: Model, evidence: Evidence, age: float = 40, sex: str = "male") -> dict[str, Question]:
    p = posterior(model, age, sex, evidence)
    return {q.group_id or q.finding_ids[0]: q for q in score_questions(model, age, sex, evidence, p)}


def test_information_gain_matches_reference(tiny_model: Model) -> None:
    evidence = Evidence.of(present=["f1"])
    p = posterior(tiny_model, 40, "male", evidence).tolist()
    fi = tiny_model.finding_index["f2"]
    expected = reference_gain(p, tiny_model.likelihood[:, fi].tolist())
    assert scored(tiny_model, evidence)["f2"].information_gain == pytest.approx(expected)


def test_triage_value_matches_reference_for_a_red_flag_question(tiny_model: Model) -> None:
    evidence = Evidence.of(present=["f1"])
    p = posterior(tiny_model, 40, "male", evidence).tolist()
    fi = tiny_model.finding_index["f3"]
    levels = tiny_model.triage_rank.tolist()
    # A 'yes' to f3 fires the emergency rule (level 3), a rule that names nothing reported: cond_a,
    # which does not list f3, says 'yes' only at the complaint leak (a tenth of the background).
    background = tiny_model.kb.findings["f3"].background.value
    p_yes = {"cond_a": background / 10, "cond_b": 0.6, "cond_c": 0.9}
    p_screen = [p_yes[c] for c in tiny_model.condition_ids]
    expected = reference_triage_value(p, p_screen, levels, yes_floor=3)
    assert expected > 0
    assert scored(tiny_model, evidence)["f3"].triage_value == pytest.approx(expected)
    unscreened = reference_triage_value(p, tiny_model.likelihood[:, fi].tolist(), levels, yes_floor=3)
    assert expected < unscreened


def test_single_choice_group_gain_is_exact(tiny_model: Model) -> None:
    evidence = Evidence.of(present=["f1"])
    p = np.array(posterior(tiny_model, 40, "male", evidence))
    members = [tiny_model.finding_index["short"], tiny_model.finding_index["long"]]
    weights = tiny_model.likelihood[:, members]
    weights = weights / weights.sum(axis=1, keepdims=True)
    joint = p[:, None] * weights
    p_option = joint.sum(axis=0)
    h = -sum(x * math.log(x) for x in p if x > 0)
    after = sum(p_option[k] * -sum((j / p_option[k]) * math.log(j / p_option[k])
                                   for j in joint[:, k] if j > 0) for k in range(2))
    question = scored(tiny_model, evidence)["duration"]
    assert question.type == "group_single"
    assert question.information_gain == pytest.approx(h - after)


def test_answered_findings_are_not_asked_again(tiny_model: Model) -> None:
    evidence = Evidence.of(present=["f1"], absent=["f2"], unknown=["f3"])
    questions = scored(tiny_model, evidence)
    assert not {"f1", "f2", "f3"} & set(questions)


def test_a_settled_single_choice_group_is_not_asked(tiny_model: Model) -> None:
    assert "duration" not in scored(tiny_model, Evidence.of(present=["f1", "short"]))


def test_question_limit_stops_the_interview(tiny_model: Model) -> None:
    evidence = Evidence.of(present=["f1"])
    p = posterior(tiny_model, 40, "male", evidence)
    assert next_question(tiny_model, 40, "male", evidence, p, asked=3,
                         settings=InterviewSettings(max_questions=3)) is None
    assert next_question(tiny_model, 40, "male", evidence, p, asked=2,
                         settings=InterviewSettings(max_questions=3)) is not None


def test_interview_stops_when_nothing_is_worth_asking(tiny_model: Model) -> None:
    evidence = Evidence.of(present=["f1"])
    p = posterior(tiny_model, 40, "male", evidence)
    assert next_question(tiny_model, 40, "male", evidence, p, asked=0,
                         settings=InterviewSettings(min_score=1e9)) is None


def test_single_choice_answer_fills_the_other_options() -> None:
    question = Question(type="group_single", text="How long?",
                        items=(QuestionItem("short", "Short"), QuestionItem("long", "Long")))
    assert answers_for(question, {"long": Answer.present}) == [
        ("short", Answer.absent), ("long", Answer.present)]
    assert answers_for(question, {}) == [("short", Answer.unknown), ("long", Answer.unknown)]


@pytest.fixture(scope="module")
def default_engine() -> Engine:
    settings = Settings()
    return Engine.from_packs(settings.pack_dirs, alias_file=settings.alias_file)


def asked_when_denying_everything(engine: Engine, age: float, sex: str, text: str) -> list[str]:
    """The findings asked in a whole interview where the person answers 'no' to every question."""
    session = engine.start(age, sex, text=text)
    asked: list[str] = []
    while (question := session.result().next_question) is not None:
        asked.extend(question.finding_ids)
        session.answer({finding: Answer.absent for finding in question.finding_ids})
    return asked


def test_a_night_cramp_is_not_screened_for_unrelated_emergencies(default_engine: Engine) -> None:
    asked = asked_when_denying_everything(default_engine, 45, "female", "cramp in my inner thigh at night")
    assert asked, "the cramp interview should still ask its own questions"
    assert not {"suicidal_thoughts", "lip_tongue_swelling", "breathless_at_rest", "no_urine_8h"} & set(asked)


def test_a_swollen_calf_is_asked_about_breathlessness(default_engine: Engine) -> None:
    asked = asked_when_denying_everything(default_engine, 60, "male", "my left calf is swollen")
    assert "breathlessness" in asked[:3]


def test_chest_pain_is_asked_about_fainting_or_sweating(default_engine: Engine) -> None:
    asked = asked_when_denying_everything(default_engine, 55, "male", "chest pain")
    assert {"fainting", "heavy_sweating"} <= set(asked)


def test_connected_floors_count_only_rules_that_name_a_reported_finding(default_engine: Engine) -> None:
    """yes_floors_connected (array form) against a direct reading of each rule of the merged model."""
    from curbside.engine.triage import rule_applies_to, rule_fires

    model = default_engine.model
    rng = np.random.default_rng(5)
    for _ in range(10):
        present = {f for f in model.finding_ids if rng.random() < 0.02}
        age, sex = float(rng.integers(0, 100)), ("male", "female")[int(rng.integers(0, 2))]
        mask = np.array([f in present for f in model.finding_ids])
        every, begun = model.rules.yes_floors_connected(mask, age, sex, 0)
        expected_every = np.zeros(len(model.finding_ids), dtype=np.int64)
        expected_begun = np.zeros(len(model.finding_ids), dtype=np.int64)
        for rule in model.kb.red_flags:
            if not rule_applies_to(rule, age, sex) or rule_fires(rule, present):
                continue
            names_present = bool(present & set(rule.findings))
            for finding in set(rule.findings) - present:
                if rule_fires(rule, present | {finding}):
                    fi = model.finding_index[finding]
                    expected_every[fi] = max(expected_every[fi], rule.level.rank)
                    if names_present:
                        expected_begun[fi] = max(expected_begun[fi], rule.level.rank)
        assert every.tolist() == expected_every.tolist()
        assert begun.tolist() == expected_begun.tolist()
