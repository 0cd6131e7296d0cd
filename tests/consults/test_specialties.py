"""The specialty vocabulary covers every pack, and the suggestion follows the likelihoods."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from curbside.consults.specialties import (
    FALLBACK_SPECIALTY,
    SPECIALTIES,
    UnknownSpecialty,
    Weighted,
    checked_specialty,
    suggest_specialty,
    weighted,
)
from curbside.engine.session import Engine
from curbside.settings import Settings


def pack_specialties() -> set[str]:
    found = set()
    for path in Path(Settings().content_dir, "kb").glob("*/conditions*.yaml"):
        data = yaml.safe_load(path.read_text())
        items = data.get("conditions", data) if isinstance(data, dict) else data
        for item in items:
            if isinstance(item, dict) and "specialty" in item:
                found.add(item["specialty"])
    return found


def test_every_specialty_of_every_pack_is_known() -> None:
    used = pack_specialties()
    assert len(used) > 20  # the reading above found the packs' conditions
    assert used - set(SPECIALTIES) == set()


def test_the_specialties_of_the_loaded_knowledge_base_are_known(engine: Engine) -> None:
    assert {c.specialty for c in engine.kb.conditions.values()} <= set(SPECIALTIES)


def test_the_specialty_where_most_of_the_likelihood_is() -> None:
    suggestion = suggest_specialty([Weighted("a", "urology", 0.5), Weighted("b", "urology", 0.2),
                                    Weighted("c", "orthopedics", 0.3)])
    assert suggestion.specialty == "urology"
    assert suggestion.share == pytest.approx(0.7)
    assert not suggestion.urgent
    assert "70%" in suggestion.reasons[-1]


def test_a_spread_picture_goes_to_the_generalist() -> None:
    suggestion = suggest_specialty([Weighted("a", "urology", 0.35), Weighted("b", "orthopedics", 0.33),
                                    Weighted("c", "neurology", 0.32)])
    assert suggestion.specialty == FALLBACK_SPECIALTY
    assert "several specialties" in suggestion.reasons[-1]


def test_emergency_medicine_is_not_a_second_opinion_and_urgent_causes_are_flagged() -> None:
    suggestion = suggest_specialty([Weighted("a", "emergency_medicine", 0.8, urgent=True),
                                    Weighted("b", "urology", 0.2)])
    assert suggestion.specialty == FALLBACK_SPECIALTY
    assert suggestion.urgent
    assert "emergency care" in suggestion.reasons[0]


def test_mostly_self_care_says_an_opinion_is_optional() -> None:
    suggestion = suggest_specialty([Weighted("a", "sports_medicine", 0.9, self_care=True)])
    assert suggestion.specialty == "sports_medicine"
    assert "optional" in suggestion.reasons[-1]


def test_nothing_to_go_by_is_the_generalist() -> None:
    assert suggest_specialty([]).specialty == FALLBACK_SPECIALTY


def test_suggestion_from_the_engine_ranked_conditions(engine: Engine) -> None:
    session = engine.start(70, "female", text="a painful lump in my groin that will not go back in and I am "
                                              "vomiting")
    suggestion = suggest_specialty(weighted(session.result().conditions[:5]))
    assert suggestion.specialty == "general_surgery"
    assert suggestion.urgent  # an incarcerated hernia is an emergency


def test_unknown_specialties_are_refused() -> None:
    assert checked_specialty(" Urology ") == "urology"
    with pytest.raises(UnknownSpecialty):
        checked_specialty("astrology")
