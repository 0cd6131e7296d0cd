"""The posterior against numbers worked out by hand from tests/engine/fixtures/tiny/pack.yaml."""

from __future__ import annotations

import numpy as np
import pytest

from curbside.engine.inference import Answer, Evidence, EvidenceError, posterior
from curbside.engine.kb import age_band
from curbside.engine.model import Model


def probs(model: Model, age: float, sex: str, evidence: Evidence) -> dict[str, float]:
    return dict(zip(model.condition_ids, posterior(model, age, sex, evidence).tolist(), strict=True))


def test_posterior_matches_hand_worked_example(tiny_model: Model) -> None:
    # A: 100 * 0.8 * (1 - 0.5) = 40; B: 300 * 0.2 * (1 - 0.2 background) = 48;
    # C: 10 * 0.1 (background) * (1 - 0.2 background) = 0.8; total 88.8
    p = probs(tiny_model, 40, "male", Evidence.of(present=["f1"], absent=["f2"]))
    assert p["cond_a"] == pytest.approx(40 / 88.8)
    assert p["cond_b"] == pytest.approx(48 / 88.8)
    assert p["cond_c"] == pytest.approx(0.8 / 88.8)


def test_prior_alone_is_the_rate(tiny_model: Model) -> None:
    p = probs(tiny_model, 40, "male", Evidence())
    assert p["cond_b"] == pytest.approx(300 / 410)


def test_sex_modifier_of_zero_rules_a_condition_out(tiny_model: Model) -> None:
    p = probs(tiny_model, 40, "female", Evidence.of(present=["f1"], absent=["f2"]))
    assert p["cond_b"] == 0.0
    assert p["cond_a"] == pytest.approx(40 / 40.8)


def test_age_modifier_multiplies_the_rate(tiny_model: Model) -> None:
    young = probs(tiny_model, 40, "male", Evidence())
    old = probs(tiny_model, 80, "male", Evidence())
    assert old["cond_c"] == pytest.approx(40 / 440)
    assert young["cond_c"] == pytest.approx(10 / 410)


def test_dont_know_carries_no_information(tiny_model: Model) -> None:
    base = posterior(tiny_model, 40, "male", Evidence.of(present=["f1"]))
    with_unknown = posterior(tiny_model, 40, "male", Evidence.of(present=["f1"], unknown=["f3"]))
    np.testing.assert_allclose(base, with_unknown)


def test_posterior_is_a_distribution(tiny_model: Model) -> None:
    p = posterior(tiny_model, 30, "female", Evidence.of(present=["f3", "short"], absent=["f1"]))
    assert p.sum() == pytest.approx(1.0)
    assert (p >= 0).all()


def test_same_finding_present_and_absent_is_refused() -> None:
    with pytest.raises(EvidenceError, match="both present and absent"):
        Evidence.of(present=["f1"], absent=["f1"])


def test_unknown_finding_is_refused(tiny_model: Model) -> None:
    with pytest.raises(EvidenceError, match="unknown finding id"):
        posterior(tiny_model, 40, "male", Evidence.of(present=["no_such_finding"]))


@pytest.mark.parametrize("age", [-1, 121, 500])
def test_age_outside_range_is_refused(tiny_model: Model, age: float) -> None:
    with pytest.raises(EvidenceError, match="between 0 and 120"):
        posterior(tiny_model, age, "male", Evidence())


def test_sex_must_be_male_or_female(tiny_model: Model) -> None:
    with pytest.raises(EvidenceError, match="sex"):
        posterior(tiny_model, 40, "other", Evidence())


def test_answers_accept_strings() -> None:
    evidence = Evidence.from_mapping({"f1": "present", "f2": "absent"})
    assert evidence.as_dict() == {"f1": Answer.present, "f2": Answer.absent}
    with pytest.raises(EvidenceError):
        Evidence.from_mapping({"f1": "maybe"})


@pytest.mark.parametrize(("age", "band"), [(0.42, "0"), (1, "1-4"), (14.9, "5-14"), (15, "15-29"),
                                           (59, "45-59"), (74.5, "60-74"), (75, "75+"),
                                           (120, "75+")])
def test_age_bands(age: float, band: str) -> None:
    assert age_band(age) == band
